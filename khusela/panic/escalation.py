"""Escalation timers: an alert nobody acknowledged, or no unit reached, in time.

Two targets, both configuration (environment variables read when the service is built):

- **acknowledgement** — an alert still NEW `KHUSELA_PANIC_ACK_TARGET_SECONDS` (default 30)
  after the press goes to the supervisors and the neighbouring command centres;
- **on scene** — no unit on scene within the target for the alert's priority,
  `KHUSELA_PANIC_ONSCENE_TARGETS` as `"1:600,2:900,3:1800,4:3600"` (the defaults; a
  partial list overrides only the priorities it names). The clock runs from the press, as
  the resident experiences it, so an alert never dispatched escalates too.

`KHUSELA_PANIC_ESCALATION_INTERVAL_SECONDS` (default 1) sets how often the timer looks.

Why these defaults: they are triggers for a supervisor to look, set inside the published
norms rather than at them. The usual yardstick for priority-1 emergencies is a response
within 15 minutes in urban areas (the national P1 target studied by Stein, Wallis &
Adetunji, SAMJ 2015; TimesLive, July 2021, reported that Gauteng EMS had relaxed it to 30
minutes). P1 at 10 minutes leaves a supervisor time to act before 15 minutes pass; P2-P4
widen from there. Deployments set their own (e.g. SAPS reaction-time targets per station).

Each (alert, kind) escalates once: a timeline line `escalated_<kind>`, an audit record and
a `panic.escalated` event, written in one transaction with the alert row locked, after
checking again that the alert is still overdue and not yet escalated. So several API
nodes running this timer never escalate twice. The alert's status is not touched.

Who is told (`notify` in the event), from the data we have:
- a *command centre* is an agency with at least one active operator;
- `supervisor_agency_ids`: the assigned agency, and every command centre whose
  jurisdiction covers the alert (province, municipality or cell); there is no supervisor
  role yet, so the feed hands the notice to those who may dispatch for these agencies;
- `neighbour_agency_ids`: command centres that do not cover the alert but cover a cell
  within `NEIGHBOUR_RING` H3 rings of it (res 7: about 2-3 km), or that cell's municipality.
An alert with no location has no neighbours; its province's command centre supervises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import h3
import structlog
from sqlalchemy import ColumnElement, Connection, and_, exists, or_, select

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.clock import Clock, SystemClock, as_utc
from khusela.core.events import Event
from khusela.core.gazetteer import Gazetteer
from khusela.identity.model import SYSTEM, Jurisdiction, Role
from khusela.identity.tables import agencies, agency_cells, user_roles, users
from khusela.panic import records
from khusela.panic.events import ESCALATED, alert_event
from khusela.panic.model import AlertStatus
from khusela.panic.tables import alert_timeline, alerts
from khusela.store.database import Database

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform

log = structlog.get_logger(__name__)

ACK_TARGET_ENV = "KHUSELA_PANIC_ACK_TARGET_SECONDS"
ONSCENE_TARGETS_ENV = "KHUSELA_PANIC_ONSCENE_TARGETS"
INTERVAL_ENV = "KHUSELA_PANIC_ESCALATION_INTERVAL_SECONDS"

DEFAULT_ACK_SECONDS = 30
DEFAULT_ONSCENE_SECONDS: Mapping[int, int] = {1: 600, 2: 900, 3: 1800, 4: 3600}
DEFAULT_INTERVAL_SECONDS = 1.0
NEIGHBOUR_RING = 2
ACTOR = SYSTEM.username

_WAITING_FOR_A_UNIT = (
    AlertStatus.NEW.value,
    AlertStatus.ACKNOWLEDGED.value,
    AlertStatus.DISPATCHED.value,
    AlertStatus.EN_ROUTE.value,
)


class EscalationKind(StrEnum):
    UNACKNOWLEDGED = "unacknowledged"
    NOT_ON_SCENE = "not_on_scene"

    @property
    def timeline_kind(self) -> str:
        """The alert timeline's `kind` for this escalation; its presence means "done"."""
        return f"escalated_{self.value}"


@dataclass(frozen=True, slots=True)
class Targets:
    """How long an alert may wait before it escalates, in seconds."""

    ack_seconds: int = DEFAULT_ACK_SECONDS
    on_scene_seconds: Mapping[int, int] = field(default_factory=lambda: dict(DEFAULT_ONSCENE_SECONDS))

    def on_scene(self, priority: int) -> int:
        """The on-scene target for `priority`; a priority without one gets the longest."""
        return self.on_scene_seconds.get(priority, max(self.on_scene_seconds.values()))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Targets:
        """Targets from `KHUSELA_PANIC_*`; a malformed value is a `ValueError` naming the variable."""
        env = os.environ if environ is None else environ
        ack = _seconds(env.get(ACK_TARGET_ENV, str(DEFAULT_ACK_SECONDS)), ACK_TARGET_ENV)
        on_scene = dict(DEFAULT_ONSCENE_SECONDS)
        for item in filter(None, (p.strip() for p in env.get(ONSCENE_TARGETS_ENV, "").split(","))):
            priority, sep, seconds = item.partition(":")
            if not sep or not priority.strip().isdigit() or int(priority) not in DEFAULT_ONSCENE_SECONDS:
                raise ValueError(f"{ONSCENE_TARGETS_ENV}: {item!r} is not <priority 1-4>:<seconds>")
            on_scene[int(priority)] = _seconds(seconds, ONSCENE_TARGETS_ENV)
        return cls(ack, on_scene)


def _seconds(raw: str, name: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a whole number of seconds") from None
    if value <= 0:
        raise ValueError(f"{name}: targets must be positive, not {value}")
    return value


def interval_from_env(environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    raw = env.get(INTERVAL_ENV, str(DEFAULT_INTERVAL_SECONDS))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{INTERVAL_ENV}: {raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{INTERVAL_ENV}: must be positive")
    return value


# --- the rules (no I/O) ---------------------------------------------------------------


def target_for(alert: Mapping[str, Any], kind: EscalationKind, targets: Targets) -> int:
    if kind is EscalationKind.UNACKNOWLEDGED:
        return targets.ack_seconds
    return targets.on_scene(int(alert["priority"]))


def overdue(alert: Mapping[str, Any], kind: EscalationKind, now: datetime, targets: Targets) -> bool:
    """Whether `alert` has missed the target of `kind` at `now`."""
    waited = now - as_utc(alert["created_at"])
    if waited < timedelta(seconds=target_for(alert, kind, targets)):
        return False
    if kind is EscalationKind.UNACKNOWLEDGED:
        return alert["status"] == AlertStatus.NEW.value and alert["acknowledged_at"] is None
    return alert["status"] in _WAITING_FOR_A_UNIT and alert["on_scene_at"] is None


# --- finding and recording escalations ---------------------------------------------------


def _not_escalated(kind: EscalationKind) -> ColumnElement[bool]:
    done = exists().where(
        alert_timeline.c.alert_id == alerts.c.id, alert_timeline.c.kind == kind.timeline_kind
    )
    return ~done


def due(
    conn: Connection, now: datetime, targets: Targets, limit: int = 100
) -> list[tuple[str, EscalationKind]]:
    """Alerts past a target and not yet escalated for it, oldest first."""
    found: list[tuple[str, EscalationKind]] = []
    unacknowledged = (
        select(alerts.c.id)
        .where(
            alerts.c.status == AlertStatus.NEW.value,
            alerts.c.acknowledged_at.is_(None),
            alerts.c.created_at <= now - timedelta(seconds=targets.ack_seconds),
            _not_escalated(EscalationKind.UNACKNOWLEDGED),
        )
        .order_by(alerts.c.created_at)
        .limit(limit)
    )
    found += [(row.id, EscalationKind.UNACKNOWLEDGED) for row in conn.execute(unacknowledged)]
    known = sorted(targets.on_scene_seconds)
    late = [
        and_(alerts.c.priority == p, alerts.c.created_at <= now - timedelta(seconds=targets.on_scene(p)))
        for p in known
    ]
    longest = max(targets.on_scene_seconds.values())
    late.append(
        and_(alerts.c.priority.notin_(known), alerts.c.created_at <= now - timedelta(seconds=longest))
    )
    not_on_scene = (
        select(alerts.c.id)
        .where(
            alerts.c.status.in_(_WAITING_FOR_A_UNIT),
            alerts.c.on_scene_at.is_(None),
            or_(*late),
            _not_escalated(EscalationKind.NOT_ON_SCENE),
        )
        .order_by(alerts.c.created_at)
        .limit(limit)
    )
    found += [(row.id, EscalationKind.NOT_ON_SCENE) for row in conn.execute(not_on_scene)]
    return found


def escalate(
    conn: Connection,
    alert_id: str,
    kind: EscalationKind,
    now: datetime,
    targets: Targets,
    gazetteer: Gazetteer,
    centres: Mapping[str, Jurisdiction] | None = None,
) -> Event | None:
    """Record one escalation in the caller's write transaction, or nothing if it is no
    longer due (acknowledged meanwhile, or escalated by another node).

    `centres` (from `command_centres`) may be passed in when escalating many alerts at once.
    """
    alert = records.load(conn, alert_id, for_update=True)
    if not overdue(alert, kind, now, targets):
        return None
    already = conn.execute(
        select(alert_timeline.c.id)
        .where(alert_timeline.c.alert_id == alert_id, alert_timeline.c.kind == kind.timeline_kind)
        .limit(1)
    ).first()
    if already is not None:
        return None
    target = target_for(alert, kind, targets)
    waited = int((now - as_utc(alert["created_at"])).total_seconds())
    notify = who_to_notify(alert, gazetteer, command_centres(conn) if centres is None else centres)
    details = {"escalation": kind.value, "target_seconds": target, "waited_seconds": waited, "notify": notify}
    records.note(conn, alert_id, ACTOR, kind.timeline_kind, now, **details)
    audit.record(conn, ACTOR, "panic.escalated", "alert", alert_id, details)
    base = alert_event(ESCALATED, alert, kind.value)
    payload = {
        **base.payload,
        "assigned_agency_id": alert["assigned_agency_id"],
        "kind": kind.value,
        "target_seconds": target,
        "waited_seconds": waited,
        "notify": notify,
    }
    event = Event(ESCALATED, payload, occurred_at=now)
    enqueue(conn, event)
    if not notify["supervisor_agency_ids"]:
        log.warning("panic.escalation_unrouted", alert_id=alert_id, kind=kind.value)
    return event


def who_to_notify(
    alert: Mapping[str, Any], gazetteer: Gazetteer, centres: Mapping[str, Jurisdiction]
) -> dict[str, list[str]]:
    """The supervising and neighbouring command centres of `alert` (see the module doc)."""
    province, municipality, cell = alert["province"], alert["municipality"], alert["cell"]
    supervisors: set[str] = {alert["assigned_agency_id"]} if alert["assigned_agency_id"] else set()
    neighbours: set[str] = set()
    around = _neighbourhood(cell, gazetteer)
    for agency_id, where in centres.items():
        if where.covers(province, municipality, cell):
            supervisors.add(agency_id)
        elif any(where.covers(None, m, c) for m, c in around):
            neighbours.add(agency_id)
    return {
        "supervisor_agency_ids": sorted(supervisors),
        "neighbour_agency_ids": sorted(neighbours - supervisors),
    }


def _neighbourhood(cell: str | None, gazetteer: Gazetteer) -> list[tuple[str | None, str]]:
    """(municipality, cell) of each cell within `NEIGHBOUR_RING` rings of `cell`, itself excluded."""
    if not cell:
        return []
    around = []
    for other in h3.grid_disk(cell, NEIGHBOUR_RING):
        if other == cell:
            continue
        lat, lon = h3.cell_to_latlng(other)
        around.append((gazetteer.locate(lat, lon).municipality, str(other)))
    return around


def command_centres(conn: Connection) -> dict[str, Jurisdiction]:
    """Agencies with at least one active operator, with their jurisdictions."""
    with_operators = (
        select(users.c.agency_id)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(user_roles.c.role == Role.OPERATOR.value, users.c.is_active, users.c.agency_id.is_not(None))
        .distinct()
    )
    ids = [row.agency_id for row in conn.execute(with_operators)]
    if not ids:
        return {}
    cells: dict[str, set[str]] = {}
    for agency_id, cell in conn.execute(
        select(agency_cells.c.agency_id, agency_cells.c.cell).where(agency_cells.c.agency_id.in_(ids))
    ):
        cells.setdefault(agency_id, set()).add(cell)
    rows = conn.execute(
        select(agencies.c.id, agencies.c.provinces, agencies.c.municipalities).where(agencies.c.id.in_(ids))
    )
    return {
        row.id: Jurisdiction(
            provinces=frozenset(row.provinces or ()),
            municipalities=frozenset(row.municipalities or ()),
            cells=frozenset(cells.get(row.id, ())),
        )
        for row in rows
    }


# --- the background service --------------------------------------------------------------


class EscalationTimer:
    """Checks every `interval` seconds for overdue alerts and escalates them (a `Background`)."""

    def __init__(
        self,
        db: Database,
        gazetteer: Gazetteer,
        *,
        on_commit: Callable[[], None] | None = None,
        targets: Targets | None = None,
        clock: Clock | None = None,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        batch: int = 100,
    ) -> None:
        self._db, self._gazetteer = db, gazetteer
        self._on_commit = on_commit
        self.targets = targets or Targets()
        self._clock = clock or SystemClock()
        self._interval, self._batch = interval, batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="panic-escalation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:
                log.exception("panic.escalation_failed")
            await asyncio.sleep(self._interval)

    async def check_once(self) -> list[Event]:
        """One pass: escalate whatever is due now; returns the events recorded."""
        events = await asyncio.to_thread(self.escalate_due)
        if events and self._on_commit is not None:
            self._on_commit()
        return events

    def escalate_due(self) -> list[Event]:
        """The blocking pass: a read to find candidates, then one short write for each."""
        now = self._clock.now()
        with self._db.read() as conn:
            candidates = due(conn, now, self.targets, self._batch)
            centres = command_centres(conn) if candidates else {}
        events: list[Event] = []
        for alert_id, kind in candidates:
            with self._db.write() as conn:
                event = escalate(conn, alert_id, kind, now, self.targets, self._gazetteer, centres)
            if event is not None:
                log.info("panic.escalated", alert_id=alert_id, kind=kind.value)
                events.append(event)
        return events


def services(platform: Platform) -> list[Background]:
    """The escalation timer with targets from the environment."""
    return [
        EscalationTimer(
            platform.db,
            platform.gazetteer,
            on_commit=platform.relay.notify,
            targets=Targets.from_env(),
            interval=interval_from_env(),
        )
    ]
