"""Escalation timers: an alert unacknowledged for 30 s, or with no unit on scene within the
target for its priority, escalates once, to its supervisors and the neighbouring command
centres, on SQLite and PostgreSQL, with time moved by hand."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import h3
import pytest
from sqlalchemy import select

from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform
from khusela.bus.tables import outbox
from khusela.core.clock import FrozenClock
from khusela.core.gazetteer import BundledGazetteer
from khusela.core.geo import cell_of
from khusela.identity.model import AgencyType, Jurisdiction, Principal, Role
from khusela.panic import escalation, lifecycle, records
from khusela.panic.escalation import EscalationKind, EscalationTimer, Targets
from khusela.panic.events import ALERT_CHANGED, ESCALATED
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertStatus, AlertType, Channel
from khusela.panic.tables import alert_timeline
from khusela.store.database import Database
from tests.conftest import People
from tests.panic_support import HILLBROW

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def press(db: Database, clock: FrozenClock, type: AlertType = AlertType.CRIME, silent: bool = False) -> str:
    command = RaisePanicAlert(
        type=type,
        channel=Channel.APP,
        sender="device:test",
        lat=HILLBROW[0],
        lon=HILLBROW[1],
        accuracy_m=10,
        silent=silent,
    )
    with db.write() as conn:
        return str(raise_alert(conn, command, BundledGazetteer(), clock).alert["id"])


def escalations(db: Database, alert_id: str) -> list[dict[str, object]]:
    with db.read() as conn:
        rows = conn.execute(
            select(alert_timeline.c.kind, alert_timeline.c.details).where(
                alert_timeline.c.alert_id == alert_id, alert_timeline.c.kind.like("escalated_%")
            )
        ).all()
    return [{"kind": r.kind, **json.loads(r.details)} for r in rows]


def move(db: Database, alert_id: str, clock: FrozenClock, **values: object) -> None:
    with db.write() as conn:
        alert = records.load(conn, alert_id, for_update=True)
        records.change(
            conn, alert, values, actor="test", kind="test_move", at=clock.now(), subject=ALERT_CHANGED
        )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def operator(database: Database) -> Principal:
    return People(database).user("thandi", Role.OPERATOR).principal


def test_an_unacknowledged_alert_escalates_once_after_30_seconds(
    database: Database, clock: FrozenClock, operator: Principal
) -> None:
    timer = EscalationTimer(database, BundledGazetteer(), clock=clock)
    alert_id = press(database, clock)

    clock.advance(seconds=29)
    assert timer.escalate_due() == []
    clock.advance(seconds=1)
    [event] = timer.escalate_due()

    assert event.subject == ESCALATED
    assert event.payload["alert_id"] == alert_id
    assert event.payload["kind"] == "unacknowledged"
    assert event.payload["target_seconds"] == 30
    assert event.payload["status"] == "new", "escalating does not move the alert"
    assert event.payload["notify"]["supervisor_agency_ids"] == [operator.agency_id]
    [line] = escalations(database, alert_id)
    assert line["kind"] == "escalated_unacknowledged"
    assert (line["target_seconds"], line["waited_seconds"]) == (30, 30)
    with database.read() as conn:
        assert records.load(conn, alert_id)["version"] == 1
        audited = conn.execute(
            select(audit_log.c.action, audit_log.c.object_id).where(audit_log.c.action == "panic.escalated")
        ).all()
        published = conn.execute(select(outbox.c.event_id).where(outbox.c.subject == ESCALATED)).all()
    assert [(a.action, a.object_id) for a in audited] == [("panic.escalated", alert_id)]
    assert [p.event_id for p in published] == [event.id]

    clock.advance(seconds=60)
    assert timer.escalate_due() == []
    assert len(escalations(database, alert_id)) == 1


def test_an_acknowledged_alert_does_not_escalate_for_acknowledgement(
    database: Database, clock: FrozenClock, operator: Principal
) -> None:
    timer = EscalationTimer(database, BundledGazetteer(), clock=clock)
    alert_id = press(database, clock)
    clock.advance(seconds=20)
    with database.write() as conn:
        lifecycle.acknowledge(conn, operator, alert_id, clock)

    clock.advance(seconds=60)

    assert timer.escalate_due() == []
    assert escalations(database, alert_id) == []


def test_no_unit_on_scene_within_the_target_for_the_priority_escalates(
    database: Database, clock: FrozenClock, operator: Principal
) -> None:
    timer = EscalationTimer(database, BundledGazetteer(), clock=clock)
    p2 = press(database, clock)  # crime: P2, 15 minutes
    p1 = press(database, clock, silent=True)  # a silent alarm is P1: 10 minutes
    arrived = press(database, clock)
    for alert_id in (p2, p1, arrived):
        with database.write() as conn:
            lifecycle.acknowledge(conn, operator, alert_id, clock)
    clock.advance(seconds=60)
    move(database, p2, clock, status=AlertStatus.DISPATCHED.value, dispatched_at=clock.now())
    move(database, arrived, clock, status=AlertStatus.DISPATCHED.value, dispatched_at=clock.now())
    clock.advance(seconds=240)
    move(database, arrived, clock, status=AlertStatus.ON_SCENE.value, on_scene_at=clock.now())

    clock.advance(seconds=299)  # 599 s after the press
    assert timer.escalate_due() == []
    clock.advance(seconds=1)
    [late_p1] = timer.escalate_due()
    assert (late_p1.payload["alert_id"], late_p1.payload["kind"]) == (p1, "not_on_scene")
    assert late_p1.payload["target_seconds"] == 600
    assert late_p1.payload["priority"] == 1

    clock.advance(seconds=299)  # 899 s
    assert timer.escalate_due() == []
    clock.advance(seconds=1)
    [late_p2] = timer.escalate_due()
    assert (late_p2.payload["alert_id"], late_p2.payload["target_seconds"]) == (p2, 900)
    assert late_p2.payload["status"] == "dispatched"

    clock.advance(hours=2)
    assert timer.escalate_due() == [], "each alert escalates once per kind; the unit that arrived never"
    assert escalations(database, arrived) == []


def test_targets_are_configuration_with_defaults(monkeypatch: pytest.MonkeyPatch, platform: Platform) -> None:
    assert Targets.from_env({}) == Targets(30, {1: 600, 2: 900, 3: 1800, 4: 3600})
    custom = Targets.from_env(
        {escalation.ACK_TARGET_ENV: "45", escalation.ONSCENE_TARGETS_ENV: "1:300, 3:1200"}
    )
    assert custom.ack_seconds == 45
    assert [custom.on_scene(p) for p in (1, 2, 3, 4, 9)] == [300, 900, 1200, 3600, 3600]
    for bad in ({escalation.ACK_TARGET_ENV: "soon"}, {escalation.ACK_TARGET_ENV: "0"}):
        with pytest.raises(ValueError, match=escalation.ACK_TARGET_ENV):
            Targets.from_env(bad)
    for value in ("1=600", "5:600", "2:-1", "x:9"):
        with pytest.raises(ValueError, match=escalation.ONSCENE_TARGETS_ENV):
            Targets.from_env({escalation.ONSCENE_TARGETS_ENV: value})

    monkeypatch.setenv(escalation.ACK_TARGET_ENV, "12")
    monkeypatch.setenv(escalation.ONSCENE_TARGETS_ENV, "2:60")
    [timer] = escalation.services(platform)
    assert isinstance(timer, EscalationTimer)
    assert (timer.targets.ack_seconds, timer.targets.on_scene(2)) == (12, 60)


def test_two_nodes_escalate_an_alert_only_once(
    database: Database, clock: FrozenClock, operator: Principal
) -> None:
    nodes = [EscalationTimer(database, BundledGazetteer(), clock=clock) for _ in range(4)]
    alert_ids = [press(database, clock, type=AlertType.OTHER) for _ in range(3)]
    clock.advance(hours=3)  # past both targets at once

    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        results = list(pool.map(lambda node: node.escalate_due(), nodes))

    recorded = [(e.payload["alert_id"], e.payload["kind"]) for events in results for e in events]
    expected = {(a, k.value) for a in alert_ids for k in EscalationKind}
    assert sorted(recorded) == sorted(expected), "every escalation recorded by exactly one node"
    for alert_id in alert_ids:
        assert sorted(str(e["kind"]) for e in escalations(database, alert_id)) == [
            "escalated_not_on_scene",
            "escalated_unacknowledged",
        ]
    assert operator.agency_id


def test_supervisors_and_neighbouring_command_centres_are_named(
    database: Database, clock: FrozenClock
) -> None:
    people = People(database)
    province = people.agency()  # the provincial command centre covers all of Gauteng
    people.user("thandi", Role.OPERATOR, agency_id=province)
    metro = people.agency(
        "Johannesburg Metropolitan Police Department",
        AgencyType.METRO_POLICE,
        Jurisdiction(municipalities=frozenset({"JHB"})),
    )
    people.user("sipho", Role.OPERATOR, agency_id=metro)
    here = cell_of(*HILLBROW)
    next_door = sorted(h3.grid_ring(here, 1))[0]
    neighbour = people.agency(
        "SAPS Next Door", AgencyType.SAPS_STATION, Jurisdiction(cells=frozenset({next_door}))
    )
    people.user("lindiwe", Role.OPERATOR, agency_id=neighbour)
    people.agency("Next Door CPF", AgencyType.CPF, Jurisdiction(cells=frozenset({next_door})))  # no operators
    far = people.agency(
        "Tshwane Metro", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    people.user("pieter", Role.OPERATOR, agency_id=far)
    inactive_cell = sorted(h3.grid_ring(here, 1))[1]
    people.user(
        "responder",
        Role.RESPONDER,
        agency_id=people.agency(
            "SAPS Responders Only", AgencyType.SAPS_STATION, Jurisdiction(cells=frozenset({inactive_cell}))
        ),
    )
    alert_id = press(database, clock)
    clock.advance(seconds=31)

    [event] = EscalationTimer(database, BundledGazetteer(), clock=clock).escalate_due()

    assert event.payload["alert_id"] == alert_id
    assert event.payload["notify"] == {
        "supervisor_agency_ids": sorted([province, metro]),
        "neighbour_agency_ids": [neighbour],
    }
    [line] = escalations(database, alert_id)
    assert line["notify"] == event.payload["notify"]
    assert line["target_seconds"] == 30


@pytest.mark.anyio
async def test_the_timer_runs_in_the_background_and_wakes_the_relay(
    sqlite_db: Database, clock: FrozenClock
) -> None:
    People(sqlite_db).user("thandi", Role.OPERATOR)
    woken: list[int] = []
    timer = EscalationTimer(
        sqlite_db, BundledGazetteer(), clock=clock, interval=0.02, on_commit=lambda: woken.append(1)
    )
    alert_id = await asyncio.to_thread(press, sqlite_db, clock)
    await timer.start()
    try:
        await asyncio.sleep(0.1)
        assert escalations(sqlite_db, alert_id) == []
        clock.advance(seconds=30)
        for _ in range(200):
            # The row is visible once the worker thread commits, a moment before the timer
            # wakes the relay: stopping the timer in between would cancel the wake-up.
            if escalations(sqlite_db, alert_id) and woken:
                break
            await asyncio.sleep(0.02)
    finally:
        await timer.stop()
    assert [e["kind"] for e in escalations(sqlite_db, alert_id)] == ["escalated_unacknowledged"]
    assert woken == [1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
