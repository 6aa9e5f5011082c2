"""Agreements decide which community partners are dispatched, through the API on SQLite and
PostgreSQL: a neighbourhood watch patrolling its own area is neither recommended nor
dispatchable until a dispatch agreement binds it to the command centre (or to the agency
handling the alert), and stops being so when the agreement is suspended or has ended."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Settings
from khusela.demo.geodata import gauteng
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic import avl
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel, UnitKind
from khusela.panic.units import register_unit
from khusela.partners.model import today_in_sa
from khusela.store.database import Database
from tests.conftest import People, bearer

STATION = next(s for s in gauteng().stations if s.name == "Hillbrow")
SCENE = (STATION.lat + 0.003, STATION.lon + 0.003)
WATCH = "Yeoville Bellevue Neighbourhood Watch"


def north(km: float) -> tuple[float, float]:
    return SCENE[0] + km / 111.2, SCENE[1]


class Control:
    """The command centre's operator and official, SAPS Hillbrow, and a neighbourhood watch
    whose area is Hillbrow's precinct, with a foot patrol of each on the streets."""

    def __init__(self, platform: Platform, client: TestClient) -> None:
        self.platform, self.client = platform, client
        people = People(platform.db)
        self.centre = people.agency()
        self.saps = people.agency(
            "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(cells=STATION.precinct)
        )
        self.watch = people.agency(
            WATCH, AgencyType.NEIGHBOURHOOD_WATCH, Jurisdiction(cells=STATION.precinct)
        )
        self.operator = bearer(client, people.user("thandi", Role.OPERATOR, agency_id=self.centre))
        self.official = bearer(client, people.user("ayanda", Role.MUNICIPAL_OFFICIAL, agency_id=self.centre))
        self.station_commander = bearer(client, people.user("sipho", Role.OPERATOR, agency_id=self.saps))
        self.patrol = self.unit("YBW-1", UnitKind.FOOT_PATROL, self.watch, north(0.2))
        self.police = self.unit("HB-1", UnitKind.POLICE_VEHICLE, self.saps, north(3.0))
        self._alerts = 0

    def unit(self, callsign: str, kind: UnitKind, agency_id: str, where: tuple[float, float]) -> str:
        with self.platform.db.write() as conn:
            made = register_unit(
                conn, SYSTEM, agency_id=agency_id, callsign=callsign, kind=kind, lat=where[0], lon=where[1]
            )
            avl.report_location(conn, "test", made.id, where[0], where[1], 8.0, datetime.now(UTC))
        return made.id

    def alert(self) -> str:
        self._alerts += 1
        command = RaisePanicAlert(
            type=AlertType.CRIME,
            channel=Channel.APP,
            sender=f"device:{self._alerts}",
            lat=SCENE[0],
            lon=SCENE[1],
            accuracy_m=12.0,
        )
        with self.platform.db.write() as conn:
            return str(raise_alert(conn, command, self.platform.gazetteer).alert["id"])

    def recommended(self, alert_id: str) -> list[str]:
        response = self.client.get(f"/api/panic/alerts/{alert_id}/recommendations", headers=self.operator)
        assert response.status_code == 200, response.text
        return [u["unit_id"] for u in response.json()["units"]]

    def dispatch(self, alert_id: str, unit_id: str) -> Any:
        return self.client.post(
            f"/api/panic/alerts/{alert_id}/dispatch", headers=self.operator, json={"unit_id": unit_id}
        )

    def stand_down(self, assignment_id: str) -> None:
        moved = self.client.post(
            f"/api/panic/assignments/{assignment_id}/status",
            headers=self.operator,
            json={"status": "cancelled"},
        )
        assert moved.status_code == 200, moved.text

    def agreement(self, headers: dict[str, str], party: str, **fields: Any) -> str:
        """An agreement between `party` and the watch with a dispatch area, through the API."""
        created = self.client.post(
            "/api/partners/agreements",
            headers=headers,
            json={
                "title": "Hillbrow community patrols",
                "type": "cooperation",
                "party_ids": [party, self.watch],
                "province": "GP",
                **fields,
            },
        )
        assert created.status_code == 201, created.text
        agreement_id = str(created.json()["id"])
        area = self.client.post(
            f"/api/partners/agreements/{agreement_id}/areas",
            headers=headers,
            json={"kind": "dispatch", "title": "Watch patrols answer panic alerts"},
        )
        assert area.status_code == 201, area.text
        return agreement_id

    def set_status(self, headers: dict[str, str], agreement_id: str, status: str, **fields: Any) -> None:
        changed = self.client.post(
            f"/api/partners/agreements/{agreement_id}/status",
            headers=headers,
            json={"status": status, **fields},
        )
        assert changed.status_code == 200, changed.text


@pytest.fixture
def platform_on_both(settings: Settings, database: Database) -> Platform:
    return bootstrap(settings, db=database, bus=InProcessBus())


@pytest.fixture
def control(platform_on_both: Platform) -> Iterator[Control]:
    with TestClient(create_app(platform_on_both)) as client:
        yield Control(platform_on_both, client)


def _days_ago(days: int) -> str:
    """A date on the South African calendar, as the agreement rules judge them."""
    return (today_in_sa(datetime.now(UTC)) - timedelta(days=days)).isoformat()


def test_a_dispatch_agreement_lets_the_watch_be_sent_until_it_is_suspended_or_ends(control: Control) -> None:
    first = control.alert()
    assert control.recommended(first) == [control.police], "the watch is closer, but no agreement"
    refused = control.dispatch(first, control.patrol)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert WATCH in refused.json()["detail"]
    assert "agreement" in refused.json()["detail"]

    agreement_id = control.agreement(control.official, control.centre, signed_on=_days_ago(30))
    assert control.dispatch(first, control.patrol).status_code == 403, "a draft agreement grants nothing"

    control.set_status(control.official, agreement_id, "active")
    assert control.recommended(first) == [control.patrol, control.police]
    sent = control.dispatch(first, control.patrol)
    assert sent.status_code == 201, sent.text
    assert sent.json()["unit_id"] == control.patrol
    control.stand_down(sent.json()["id"])

    control.set_status(control.official, agreement_id, "suspended")
    second = control.alert()
    assert control.recommended(second) == [control.police], "suspended"
    assert control.dispatch(second, control.patrol).status_code == 403

    control.agreement(
        control.official, control.centre, status="active", signed_on=_days_ago(30), ends_on=_days_ago(1)
    )
    assert control.recommended(second) == [control.police], "an agreement that has ended"
    assert control.dispatch(second, control.patrol).status_code == 403


def test_an_agreement_with_the_agency_handling_the_alert_also_counts(control: Control) -> None:
    alert_id = control.alert()
    agreement_id = control.agreement(control.station_commander, control.saps, signed_on=_days_ago(30))
    control.set_status(control.station_commander, agreement_id, "active")
    assert control.dispatch(alert_id, control.patrol).status_code == 403, "SAPS does not handle it yet"

    assert control.dispatch(alert_id, control.police).status_code == 201
    assert control.recommended(alert_id) == [control.patrol], "now SAPS Hillbrow's alert"
    sent = control.dispatch(alert_id, control.patrol)
    assert sent.status_code == 201, sent.text
