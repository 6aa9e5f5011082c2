"""A resident's press through the app API, and what operators and the resident then see."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from khusela.audit import log as audit
from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform
from khusela.bus.tables import outbox
from khusela.identity.model import AgencyType, Jurisdiction, Role
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW, PRETORIA_CENTRAL, resident_headers

PHONE = "+27825550101"


@pytest.fixture
def resident(client: TestClient, platform: Platform, people: People) -> dict[str, str]:
    person = people.user("nomsa", Role.RESIDENT, phone=PHONE)
    return resident_headers(client, platform, person, PHONE)


@pytest.fixture
def operator(client: TestClient, people: People) -> dict[str, str]:
    return bearer(client, people.user("thandi", Role.OPERATOR))


def press(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    payload = {
        "type": "crime",
        "lat": HILLBROW[0],
        "lon": HILLBROW[1],
        "accuracy_m": 12,
        "client_alert_id": "c1",
    }
    payload.update(body)
    return client.post("/api/panic/alerts", headers=headers, json=payload)


def test_press_is_committed_and_reaches_the_provincial_queue(
    client: TestClient, platform: Platform, resident: dict[str, str], operator: dict[str, str]
) -> None:
    response = press(client, resident)
    assert response.status_code == 201
    alert_id = response.json()["id"]
    assert response.json()["status"] == "new"
    assert "priority" not in response.json(), "residents do not see triage"
    queue = client.get("/api/panic/alerts?status=open", headers=operator).json()
    assert [a["id"] for a in queue] == [alert_id]
    assert queue[0]["municipality"] == "JHB"
    assert queue[0]["priority"] == 2
    with platform.db.read() as conn:
        subjects = [r.subject for r in conn.execute(select(outbox.c.subject))]
    assert "panic.alert_raised" in subjects


def test_a_raised_alert_is_audited_in_the_chain_soon_after(
    client: TestClient, platform: Platform, resident: dict[str, str]
) -> None:
    """The raise is staged with the alert and chained by the background appender."""
    alert_id = press(client, resident).json()["id"]
    deadline = time.monotonic() + 5
    audited: list[str] = []
    while not audited and time.monotonic() < deadline:
        with platform.db.read() as conn:
            audited = list(
                conn.execute(select(audit_log.c.action).where(audit_log.c.object_id == alert_id)).scalars()
            )
        time.sleep(0.02)
    assert audited == ["panic.raise"]
    with platform.db.snapshot() as conn:
        assert audit.verify(conn).ok


def test_retry_returns_the_same_alert(client: TestClient, resident: dict[str, str]) -> None:
    first = press(client, resident)
    again = press(client, resident)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_repeat_presses_join_and_raise_urgency(
    client: TestClient, resident: dict[str, str], operator: dict[str, str]
) -> None:
    ids = {press(client, resident, client_alert_id=f"c{i}").json()["id"] for i in range(3)}
    assert len(ids) == 1
    detail = client.get(f"/api/panic/alerts/{ids.pop()}", headers=operator).json()
    assert detail["presses"] == 3
    assert detail["priority"] == 1
    assert [t["kind"] for t in detail["timeline"]] == ["raised", "press_joined", "press_joined"]


@pytest.mark.parametrize(
    "where",
    [{"lat": 999, "lon": 28.0}, {}, {"lat": None, "lon": None}, {"lat": 0.0, "lon": 0.0}, {"lat": -26.2}],
    ids=["off-the-globe", "missing", "null", "null-island", "half"],
)
def test_bad_location_is_accepted_and_flagged(
    client: TestClient, resident: dict[str, str], operator: dict[str, str], where: dict[str, Any]
) -> None:
    body: dict[str, Any] = {"type": "medical", "client_alert_id": "x"}
    body.update(where)
    response = client.post("/api/panic/alerts", headers=resident, json=body)
    assert response.status_code == 201
    assert response.json()["location_unknown"] is True
    queue = client.get("/api/panic/alerts", headers=operator).json()
    assert queue[0]["location_unknown"] is True
    assert queue[0]["province"] == "GP", "an unlocated alert is routed to the home province"


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b'{"type": "crime", "lat": "south", "lon": 28.0, "client_alert_id": "c"}', 422),
        (b'{"type": "alien", "client_alert_id": "c"}', 422),
        (b'{"type": "crime"}', 422),
        (b'{"type": "crime", "client_alert_id": "c", "admin": true}', 422),
    ],
    ids=["malformed", "wrong-type", "unknown-type", "no-client-id", "unknown-field"],
)
def test_malformed_requests_get_4xx(
    client: TestClient, resident: dict[str, str], content: bytes, status: int
) -> None:
    response = client.post(
        "/api/panic/alerts", headers={**resident, "content-type": "application/json"}, content=content
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_staff_cannot_raise_as_a_resident(client: TestClient, operator: dict[str, str]) -> None:
    assert press(client, operator).status_code == 403


def test_queue_is_limited_to_the_jurisdiction(
    client: TestClient, people: People, resident: dict[str, str], operator: dict[str, str]
) -> None:
    hillbrow = press(client, resident).json()["id"]
    other = people.user("sipho", Role.RESIDENT, phone="+27825550102")
    platform_headers = resident_headers(client, client.app.state.platform, other, "+27825550102")  # type: ignore[attr-defined]
    tshwane = press(client, platform_headers, lat=PRETORIA_CENTRAL[0], lon=PRETORIA_CENTRAL[1]).json()["id"]
    jmpd = people.agency("JMPD", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"JHB"})))
    metro = bearer(client, people.user("lerato", Role.OPERATOR, agency_id=jmpd))
    assert [a["id"] for a in client.get("/api/panic/alerts", headers=metro).json()] == [hillbrow]
    assert client.get(f"/api/panic/alerts/{tshwane}", headers=metro).status_code == 404
    provincial = {a["id"] for a in client.get("/api/panic/alerts", headers=operator).json()}
    assert provincial == {hillbrow, tshwane}
    own = client.get("/api/panic/alerts", headers=resident).json()
    assert [a["id"] for a in own] == [hillbrow]


def test_queue_is_sorted_by_priority_then_age(
    client: TestClient, people: People, resident: dict[str, str], operator: dict[str, str]
) -> None:
    crime = press(client, resident).json()["id"]
    other = people.user("sipho", Role.RESIDENT, phone="+27825550102")
    headers = resident_headers(client, client.app.state.platform, other, "+27825550102")  # type: ignore[attr-defined]
    silent = press(client, headers, silent=True).json()["id"]
    assert [a["id"] for a in client.get("/api/panic/alerts", headers=operator).json()] == [silent, crime]


def test_operator_acknowledges_once(
    client: TestClient, resident: dict[str, str], operator: dict[str, str]
) -> None:
    alert_id = press(client, resident).json()["id"]
    ack = client.post(f"/api/panic/alerts/{alert_id}/acknowledge", headers=operator)
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    assert client.post(f"/api/panic/alerts/{alert_id}/acknowledge", headers=operator).status_code == 409
    assert client.post(f"/api/panic/alerts/{alert_id}/acknowledge", headers=resident).status_code == 403


def test_location_trail_moves_the_alert(
    client: TestClient, resident: dict[str, str], operator: dict[str, str]
) -> None:
    alert_id = press(client, resident, lat=None, lon=None).json()["id"]
    moved = client.post(
        f"/api/panic/alerts/{alert_id}/locations",
        headers=resident,
        json={"lat": HILLBROW[0], "lon": HILLBROW[1], "accuracy_m": 8},
    )
    assert moved.status_code == 200
    assert moved.json()["location_unknown"] is False
    ignored = client.post(
        f"/api/panic/alerts/{alert_id}/locations", headers=resident, json={"lat": 500, "lon": 0}
    )
    assert ignored.status_code == 200
    detail = client.get(f"/api/panic/alerts/{alert_id}", headers=operator).json()
    assert len(detail["trail"]) == 1
    assert detail["municipality"] == "JHB"
    assert detail["accuracy_m"] == 8


def test_cancel_with_pin_and_duress(
    client: TestClient, people: People, resident: dict[str, str], operator: dict[str, str]
) -> None:
    set_pins = client.put("/api/panic/profile", headers=resident, json={"pin": "1234", "duress_pin": "9876"})
    assert set_pins.status_code == 200
    assert set_pins.json()["has_duress_pin"] is True
    first = press(client, resident, client_alert_id="a").json()["id"]
    assert (
        client.post(f"/api/panic/alerts/{first}/cancel", headers=resident, json={"pin": "0000"}).status_code
        == 403
    )
    cancelled = client.post(f"/api/panic/alerts/{first}/cancel", headers=resident, json={"pin": "1234"})
    assert cancelled.json()["status"] == "cancelled"
    assert client.get(f"/api/panic/alerts/{first}", headers=operator).json()["status"] == "cancelled"

    second = press(client, resident, client_alert_id="b").json()["id"]
    assert second != first
    forced = client.post(f"/api/panic/alerts/{second}/cancel", headers=resident, json={"pin": "9876"})
    assert forced.status_code == 200
    assert forced.json() == {**cancelled.json(), "id": second, "created_at": forced.json()["created_at"]}
    assert client.get(f"/api/panic/alerts/{second}", headers=resident).json()["status"] == "cancelled"
    seen = client.get(f"/api/panic/alerts/{second}", headers=operator).json()
    assert seen["status"] == "new"
    assert seen["duress"] is True
    assert seen["priority"] == 1


def test_another_resident_cannot_touch_my_alert(
    client: TestClient, people: People, resident: dict[str, str]
) -> None:
    alert_id = press(client, resident).json()["id"]
    other = people.user("sipho", Role.RESIDENT, phone="+27825550102")
    headers = resident_headers(client, client.app.state.platform, other, "+27825550102")  # type: ignore[attr-defined]
    assert client.get(f"/api/panic/alerts/{alert_id}", headers=headers).status_code == 404
    assert (
        client.post(f"/api/panic/alerts/{alert_id}/cancel", headers=headers, json={"pin": "1234"}).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/panic/alerts/{alert_id}/locations", headers=headers, json={"lat": 1, "lon": 1}
        ).status_code
        == 404
    )


def test_profile_validation(client: TestClient, resident: dict[str, str]) -> None:
    same = client.put("/api/panic/profile", headers=resident, json={"pin": "1234", "duress_pin": "1234"})
    assert same.status_code == 422
    six = [{"name": f"c{i}", "phone": f"08255501{i:02d}"} for i in range(6)]
    assert (
        client.put("/api/panic/profile", headers=resident, json={"trusted_contacts": six}).status_code == 422
    )
    five = client.put(
        "/api/panic/profile", headers=resident, json={"trusted_contacts": six[:5], "vulnerable": True}
    )
    assert five.status_code == 200
    assert len(five.json()["trusted_contacts"]) == 5
    assert five.json()["trusted_contacts"][0]["phone"] == "+27825550100"


def test_vulnerable_resident_gets_higher_priority(
    client: TestClient, resident: dict[str, str], operator: dict[str, str]
) -> None:
    client.put("/api/panic/profile", headers=resident, json={"vulnerable": True})
    press(client, resident)
    assert client.get("/api/panic/alerts", headers=operator).json()[0]["priority"] == 1


def test_unknown_status_filter_is_bad_input(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get("/api/panic/alerts?status=bogus", headers=operator)
    assert response.status_code == 422
    assert "choose from" in response.json()["detail"]
    assert client.get("/api/panic/alerts?status=acknowledged", headers=operator).status_code == 200
