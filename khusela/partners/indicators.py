"""Figures for agreement indicators, taken from the platform where it has them.

A commitment may name a `source` below; the quarterly report then shows the platform's own
figure for the *responsible party* in that quarter, next to the party's reported value. A
source whose module holds nothing for the party (or whose tables are absent, e.g. an instance
without the intel module) gives None: the report says "no platform figure" rather than 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, inspect, select

from khusela.identity.model import Clearance, Principal, Role
from khusela.partners.model import OutcomeKind, Quarter
from khusela.partners.tables import partner_operation_outcomes, partner_operations

_READER = Principal(
    user_id="partners-report",
    username="partners-report",
    roles=frozenset({Role.OVERSIGHT, Role.ADMIN}),
    clearance=Clearance.UNCLASSIFIED,
)
"""Reads figures across the platform for a report; only aggregates ever leave this module."""


@dataclass(frozen=True, slots=True)
class Context:
    agreement_id: str
    agency_id: str
    quarter: Quarter
    now: datetime
    shared: dict[str, Any] = field(default_factory=dict)
    """Module-wide figures already computed for this quarter (one report's worth): each
    covers every party, so a report with 100 commitments computes each once, not 100 times."""

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]


Figure = Callable[[Connection, Context], float | None]


def _panic(field: str) -> Figure:
    def figure(conn: Connection, ctx: Context) -> float | None:
        from khusela.panic import kpis

        report: kpis.KpiReport = ctx.once(
            "panic.response_times",
            lambda: kpis.response_times(
                conn,
                _READER,
                since=ctx.quarter.since,
                until=ctx.quarter.until,
                group_by=kpis.GroupBy.STATION,
                now=ctx.now,
            ),
        )
        group = next((g for g in report.groups if g.key == ctx.agency_id), None)
        if group is None:
            return None
        if field == "answered_share":
            return group.answered_share
        figures = getattr(group, field.rsplit("_", 1)[0])
        value = figures.p50_s if field.endswith("p50") else figures.p90_s
        return float(value) if value is not None else None

    return figure


def _cctv_uptime(conn: Connection, ctx: Context) -> float | None:
    from khusela.cctv import health

    rows = ctx.once(
        "cctv.uptime",
        lambda: health.uptime(conn, _READER, ctx.quarter.since, ctx.quarter.until, health.GroupBy.OWNER),
    )
    row = next((r for r in rows if r["key"] == ctx.agency_id), None)
    return None if row is None or row["uptime"] is None else float(row["uptime"])


def _intel_shared(conn: Connection, ctx: Context) -> float | None:
    """Distinct items of the party's shared with others in the quarter (intel may be absent)."""
    if not (inspect(conn).has_table("intel_disseminations") and inspect(conn).has_table("intel_items")):
        return None
    try:
        from khusela.intel.tables import intel_disseminations, intel_items
    except ImportError:
        return None
    count = conn.execute(
        select(func.count(func.distinct(intel_disseminations.c.item_id)))
        .join(intel_items, intel_items.c.id == intel_disseminations.c.item_id)
        .where(
            intel_items.c.agency_id == ctx.agency_id,
            intel_disseminations.c.channel == "share",
            intel_disseminations.c.at >= ctx.quarter.since,
            intel_disseminations.c.at < ctx.quarter.until,
        )
    ).scalar_one()
    return float(count)


def _outcomes(kind: OutcomeKind) -> Figure:
    def figure(conn: Connection, ctx: Context) -> float | None:
        total = conn.execute(
            select(func.coalesce(func.sum(partner_operation_outcomes.c.quantity), 0))
            .join(partner_operations, partner_operations.c.id == partner_operation_outcomes.c.operation_id)
            .where(
                partner_operations.c.agreement_id == ctx.agreement_id,
                partner_operation_outcomes.c.kind == kind.value,
                partner_operation_outcomes.c.at >= ctx.quarter.since,
                partner_operation_outcomes.c.at < ctx.quarter.until,
            )
        ).scalar_one()
        return float(total)

    return figure


def _operations_held(conn: Connection, ctx: Context) -> float | None:
    count = conn.execute(
        select(func.count())
        .select_from(partner_operations)
        .where(
            partner_operations.c.agreement_id == ctx.agreement_id,
            partner_operations.c.starts_at >= ctx.quarter.since,
            partner_operations.c.starts_at < ctx.quarter.until,
        )
    ).scalar_one()
    return float(count)


SOURCES: dict[str, tuple[str, Figure]] = {
    "panic.to_on_scene_p50_s": (
        "Median seconds from alert to unit on scene (panic)",
        _panic("to_on_scene_p50"),
    ),
    "panic.to_on_scene_p90_s": ("90th percentile seconds to on scene (panic)", _panic("to_on_scene_p90")),
    "panic.to_dispatch_p50_s": ("Median seconds from alert to dispatch (panic)", _panic("to_dispatch_p50")),
    "panic.answered_share": ("Share of alerts answered within 15 s (panic)", _panic("answered_share")),
    "cctv.uptime": ("Share of time the party's cameras were online (cctv)", _cctv_uptime),
    "intel.items_shared": ("Intelligence items the party shared (intel)", _intel_shared),
    "operations.held": ("Joint operations under the agreement (partners)", _operations_held),
    "operations.arrests": ("Arrests in joint operations (partners)", _outcomes(OutcomeKind.ARREST)),
    "operations.seizures": ("Seizures in joint operations (partners)", _outcomes(OutcomeKind.SEIZURE)),
    "operations.mining_sites_closed": (
        "Illegal mining sites closed in joint operations (partners)",
        _outcomes(OutcomeKind.MINING_SITE_CLOSED),
    ),
    "operations.bylaw_notices": (
        "By-law notices issued in joint operations (partners)",
        _outcomes(OutcomeKind.BYLAW_NOTICE),
    ),
}


def platform_figure(
    conn: Connection,
    commitment: dict[str, Any],
    quarter: Quarter,
    now: datetime,
    shared: dict[str, Any] | None = None,
) -> float | None:
    """The platform's figure for a commitment in a quarter, or None when it has none. Pass
    the same `shared` dict for every commitment of one report (see `Context.shared`)."""
    source = commitment.get("source")
    if not source or source not in SOURCES:
        return None
    ctx = Context(
        commitment["agreement_id"],
        commitment["responsible_agency_id"],
        quarter,
        now,
        {} if shared is None else shared,
    )
    return SOURCES[source][1](conn, ctx)
