"""Response-time figures: how fast alerts are answered, dispatched and reached.

Each alert gives three durations, all from the moment it was raised:
- to acknowledge: until an operator answered it (acknowledged it, or dispatched at once);
- to dispatch: until the first unit was dispatched;
- to on scene: until the first unit arrived.
Grouped by station (the alert's assigned agency), by municipality, or by partner (the
agency of each responding unit; there each assignment is one sample, "to acknowledge" is
the unit's acknowledgement counted from its dispatch, and the other two are counted from
the alert for that unit).

Every group reports count, p50 and p90 in seconds, and the share acknowledged within
15 s set against the 90 % target of NENA's call-answering standard (the same 15 s / 90 %
as NFPA 1225 for alarm answering). Alerts the resident cancelled before anyone answered
are left out of that share (abandoned, as NENA counts them); unanswered alerts count as
misses once 15 s have passed.

Reads go through the policy (KPI_READ on the alerts), so an operator sees the figures of
their jurisdiction and oversight those of the province.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Connection, select

from khusela.core.clock import as_utc
from khusela.core.errors import InvalidInput
from khusela.identity.model import Principal
from khusela.identity.policy import Action, read_filter
from khusela.identity.tables import agencies
from khusela.panic.dispatch import AssignmentStatus
from khusela.panic.model import AlertStatus
from khusela.panic.queries import ALERT_COLUMNS
from khusela.panic.tables import alerts, assignments, units

TARGET_SECONDS = 15.0
TARGET_SHARE = 0.90
MAX_RANGE = timedelta(days=366)


class GroupBy(StrEnum):
    STATION = "station"
    MUNICIPALITY = "municipality"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class Sample:
    """One alert (or, by partner, one assignment) as the figures see it."""

    key: str | None
    label: str
    to_acknowledge: float | None
    to_dispatch: float | None
    to_on_scene: float | None
    answerable: bool
    """Counts toward the within-15 s share (not abandoned before it was answered)."""


@dataclass(frozen=True, slots=True)
class Figures:
    count: int
    p50_s: float | None
    p90_s: float | None


@dataclass(frozen=True, slots=True)
class GroupFigures:
    key: str | None
    label: str
    count: int
    to_acknowledge: Figures
    to_dispatch: Figures
    to_on_scene: Figures
    answerable: int
    answered_within_target: int
    answered_share: float | None
    meets_target: bool | None
    """None when nothing in the group could have been answered yet."""


@dataclass(frozen=True, slots=True)
class KpiReport:
    group_by: GroupBy
    since: datetime
    until: datetime
    groups: list[GroupFigures]
    overall: GroupFigures
    target_seconds: float = TARGET_SECONDS
    target_share: float = TARGET_SHARE


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linearly interpolated between ranks; None when empty."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def figures(values: Iterable[float | None]) -> Figures:
    known = sorted(v for v in values if v is not None)
    return Figures(len(known), percentile(known, 50), percentile(known, 90))


def group_figures(key: str | None, label: str, samples: Sequence[Sample]) -> GroupFigures:
    answerable = [s for s in samples if s.answerable]
    within = sum(1 for s in answerable if s.to_acknowledge is not None and s.to_acknowledge <= TARGET_SECONDS)
    share = within / len(answerable) if answerable else None
    return GroupFigures(
        key=key,
        label=label,
        count=len(samples),
        to_acknowledge=figures(s.to_acknowledge for s in samples),
        to_dispatch=figures(s.to_dispatch for s in samples),
        to_on_scene=figures(s.to_on_scene for s in samples),
        answerable=len(answerable),
        answered_within_target=within,
        answered_share=share,
        meets_target=None if share is None else share >= TARGET_SHARE,
    )


def summarise(samples: Sequence[Sample], group_by: GroupBy, since: datetime, until: datetime) -> KpiReport:
    """Figures per group (largest first) and overall, from samples (pure)."""
    grouped: dict[str | None, list[Sample]] = defaultdict(list)
    labels: dict[str | None, str] = {}
    for sample in samples:
        grouped[sample.key].append(sample)
        labels[sample.key] = sample.label
    groups = [group_figures(key, labels[key], members) for key, members in grouped.items()]
    groups.sort(key=lambda g: (-g.count, g.label))
    return KpiReport(group_by, since, until, groups, group_figures(None, "all", samples))


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (as_utc(end) - as_utc(start)).total_seconds())


def _answerable(created: datetime, answered: datetime | None, abandoned: bool, now: datetime) -> bool:
    if answered is not None:
        return True
    return not abandoned and now - as_utc(created) > timedelta(seconds=TARGET_SECONDS)


def response_times(
    conn: Connection,
    viewer: Principal,
    *,
    since: datetime,
    until: datetime,
    group_by: GroupBy,
    now: datetime,
) -> KpiReport:
    """Figures for alerts raised in [since, until) that the viewer may read (KPI_READ)."""
    where = _period(viewer, since, until)
    since, until = as_utc(since), as_utc(until)
    if group_by is GroupBy.PARTNER:
        samples = _partner_samples(conn, where, now)
    else:
        samples = _alert_samples(conn, where, group_by, now)
    return summarise(samples, group_by, since, until)


def _period(viewer: Principal, since: datetime, until: datetime) -> tuple[Any, ...]:
    since, until = as_utc(since), as_utc(until)
    if since >= until:
        raise InvalidInput("the period must start before it ends")
    if until - since > MAX_RANGE:
        raise InvalidInput("the period may span at most 366 days")
    return (
        read_filter(viewer, Action.KPI_READ, ALERT_COLUMNS),
        alerts.c.created_at >= since,
        alerts.c.created_at < until,
    )


def alerts_per_hour(
    conn: Connection, viewer: Principal, *, since: datetime, until: datetime
) -> list[tuple[datetime, int]]:
    """Alerts raised per clock hour (UTC) in [since, until) that the viewer may read,
    every hour present (quiet hours count 0, so a chart's gaps are real)."""
    where = _period(viewer, since, until)
    first = as_utc(since).replace(minute=0, second=0, microsecond=0)
    counts: dict[datetime, int] = {}
    for (created,) in conn.execute(select(alerts.c.created_at).where(*where)):
        hour = as_utc(created).replace(minute=0, second=0, microsecond=0)
        counts[hour] = counts.get(hour, 0) + 1
    hours: list[tuple[datetime, int]] = []
    hour = first
    while hour < as_utc(until):
        hours.append((hour, counts.get(hour, 0)))
        hour += timedelta(hours=1)
    return hours


def _alert_samples(conn: Connection, where: Sequence[Any], group_by: GroupBy, now: datetime) -> list[Sample]:
    query = (
        select(
            alerts.c.created_at,
            alerts.c.acknowledged_at,
            alerts.c.dispatched_at,
            alerts.c.on_scene_at,
            alerts.c.status,
            alerts.c.municipality,
            alerts.c.assigned_agency_id,
            agencies.c.name.label("agency_name"),
        )
        .outerjoin(agencies, agencies.c.id == alerts.c.assigned_agency_id)
        .where(*where)
    )
    out: list[Sample] = []
    for r in conn.execute(query):
        if group_by is GroupBy.STATION:
            key, label = r.assigned_agency_id, r.agency_name or "(not assigned)"
        else:
            key, label = r.municipality, _municipality_name(r.municipality)
        abandoned = r.status == AlertStatus.CANCELLED.value
        out.append(
            Sample(
                key=key,
                label=label,
                to_acknowledge=_seconds(r.created_at, r.acknowledged_at),
                to_dispatch=_seconds(r.created_at, r.dispatched_at),
                to_on_scene=_seconds(r.created_at, r.on_scene_at),
                answerable=_answerable(r.created_at, r.acknowledged_at, abandoned, now),
            )
        )
    return out


def _partner_samples(conn: Connection, where: Sequence[Any], now: datetime) -> list[Sample]:
    query = (
        select(
            alerts.c.created_at,
            assignments.c.assigned_at,
            assignments.c.acknowledged_at,
            assignments.c.on_scene_at,
            assignments.c.status,
            units.c.agency_id,
            agencies.c.name.label("agency_name"),
        )
        .join(alerts, alerts.c.id == assignments.c.alert_id)
        .join(units, units.c.id == assignments.c.unit_id)
        .join(agencies, agencies.c.id == units.c.agency_id)
        .where(*where)
    )
    out: list[Sample] = []
    for r in conn.execute(query):
        stood_down = r.status == AssignmentStatus.CANCELLED.value
        out.append(
            Sample(
                key=r.agency_id,
                label=r.agency_name,
                to_acknowledge=_seconds(r.assigned_at, r.acknowledged_at),
                to_dispatch=_seconds(r.created_at, r.assigned_at),
                to_on_scene=_seconds(r.created_at, r.on_scene_at),
                answerable=_answerable(r.assigned_at, r.acknowledged_at, stood_down, now),
            )
        )
    return out


def _municipality_name(code: str | None) -> str:
    if code is None:
        return "(outside known municipalities)"
    return _municipality_names().get(code, code)


@cache
def _municipality_names() -> dict[str, str]:
    """Names of the bundled gazetteer's municipalities (the codes alerts carry)."""
    from khusela.demo.geodata import gauteng

    return {m.code: m.name for m in gauteng().municipalities}


CSV_COLUMNS = (
    "group_by",
    "group",
    "label",
    "count",
    "acknowledge_count",
    "acknowledge_p50_s",
    "acknowledge_p90_s",
    "dispatch_count",
    "dispatch_p50_s",
    "dispatch_p90_s",
    "on_scene_count",
    "on_scene_p50_s",
    "on_scene_p90_s",
    "answerable",
    "acknowledged_within_15s",
    "acknowledged_within_15s_share",
    "target_share",
    "meets_target",
    "since",
    "until",
)


def to_csv(report: KpiReport) -> str:
    """The report as CSV (one row per group, then the overall row), safe to open in a
    spreadsheet: text cells that could start a formula are quoted with an apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for group in [*report.groups, report.overall]:
        writer.writerow(
            [
                report.group_by.value,
                _cell(group.key or ("(all)" if group is report.overall else "")),
                _cell(group.label),
                group.count,
                *_figure_cells(group.to_acknowledge),
                *_figure_cells(group.to_dispatch),
                *_figure_cells(group.to_on_scene),
                group.answerable,
                group.answered_within_target,
                _number(group.answered_share, 4),
                report.target_share,
                "" if group.meets_target is None else str(group.meets_target).lower(),
                report.since.isoformat(),
                report.until.isoformat(),
            ]
        )
    return buffer.getvalue()


def _figure_cells(f: Figures) -> list[str | int]:
    return [f.count, _number(f.p50_s), _number(f.p90_s)]


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
