"""USSD from a feature phone, through the gateway callback, into the operator's queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Settings
from khusela.identity.model import Principal, Role
from khusela.panic import queries, records
from khusela.store.database import Database
from tests.conftest import People

UNKNOWN = "0821230001"
REGISTERED = "+27821230002"


def dial(
    client: TestClient, session: str, text: str, phone: str = UNKNOWN, **headers: str
) -> httpx2.Response:
    return client.post(
        "/api/panic/channels/ussd",
        data={
            "sessionId": session,
            "serviceCode": "*120*5555#",
            "phoneNumber": phone,
            "text": text,
            "networkCode": "65501",
        },
        headers=headers,
    )


@pytest.fixture(autouse=True)
def open_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    """No gateway key unless a test sets one (test settings: the callbacks are open)."""
    monkeypatch.delenv("KHUSELA_GATEWAY_KEY", raising=False)


@pytest.fixture
def operator(people: People) -> Principal:
    return people.user("thandi", Role.OPERATOR).principal


def queue(platform: Platform, operator: Principal) -> list[records.Alert]:
    with platform.db.read() as conn:
        return queries.list_alerts(conn, operator)


def test_dialling_in_shows_the_menu_and_raises_nothing(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    response = dial(client, "s1", "")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("CON Khusela emergency")
    assert "1 Crime" in response.text
    assert queue(platform, operator) == []


def test_unregistered_caller_raises_an_alert_the_operator_can_call_back(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    first = dial(client, "s1", "1")
    assert first.text.startswith("CON Help is being arranged. Ref ")
    [alert] = queue(platform, operator)
    ref = alert["id"].replace("-", "")[-6:].upper()
    assert f"Ref {ref}" in first.text
    assert alert["channel"] == "ussd"
    assert alert["type"] == "crime"
    assert alert["resident_id"] is None
    assert alert["note"] == "Caller +27821230001"
    assert alert["location_unknown"] is True
    assert alert["province"] == "GP"

    last = dial(client, "s1", "1*Corner of Main and 5th")
    assert last.text.startswith("END ")
    assert f"Ref {ref}" in last.text
    [alert] = queue(platform, operator)
    assert alert["location_text"] == "Corner of Main and 5th"
    assert alert["presses"] == 1
    assert alert["location_unknown"] is True, "a typed place is for the operator to find, not a fix"
    with platform.db.read() as conn:
        kinds = [t["kind"] for t in queries.timeline(conn, alert["id"])]
    assert kinds == ["raised", "location_typed"]


def test_a_caller_who_times_out_on_the_location_screen_is_not_lost(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    dial(client, "s1", "2")
    [alert] = queue(platform, operator)
    assert alert["type"] == "medical"
    assert alert["location_text"] is None


def test_registered_resident_raises_as_themselves(
    client: TestClient, platform: Platform, people: People, operator: Principal
) -> None:
    resident = people.user("nomsa", Role.RESIDENT, phone=REGISTERED)
    response = dial(client, "s1", "4*Near the taxi rank", phone="082 123 0002")
    assert response.text.startswith("END ")
    [alert] = queue(platform, operator)
    assert alert["resident_id"] == resident.principal.user_id
    assert alert["type"] == "gbv"
    assert alert["note"] is None


@pytest.mark.parametrize("phone", [UNKNOWN, REGISTERED])
def test_a_second_session_within_two_minutes_joins_the_open_alert(
    client: TestClient, platform: Platform, people: People, operator: Principal, phone: str
) -> None:
    people.user("nomsa", Role.RESIDENT, phone=REGISTERED)
    dial(client, "s1", "1*Jabulani Mall", phone=phone)
    again = dial(client, "s2", "1*Jabulani Mall, entrance 3", phone=phone)
    assert again.status_code == 200
    [alert] = queue(platform, operator)
    assert alert["presses"] == 2
    assert alert["location_text"] == "Jabulani Mall, entrance 3"


def test_a_gateway_retry_finds_the_same_alert(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    first = dial(client, "s1", "5*N1 north, Buccleuch")
    again = dial(client, "s1", "5*N1 north, Buccleuch")
    assert again.text == first.text
    [alert] = queue(platform, operator)
    assert alert["presses"] == 1


def test_two_callers_get_two_alerts(client: TestClient, platform: Platform, operator: Principal) -> None:
    dial(client, "s1", "1", phone="0821230001")
    dial(client, "s2", "1", phone="0821230003")
    assert len(queue(platform, operator)) == 2


def test_an_invalid_choice_asks_again(client: TestClient, platform: Platform, operator: Principal) -> None:
    response = dial(client, "s1", "9")
    assert response.text.startswith("CON Please reply with a number 1-6.")
    assert queue(platform, operator) == []


@pytest.mark.parametrize(
    "form",
    [
        {"serviceCode": "*120#", "phoneNumber": UNKNOWN, "text": "1"},
        {"sessionId": "s1", "serviceCode": "*120#", "text": "1"},
        {"sessionId": "s1", "phoneNumber": "not-a-number", "text": "1"},
    ],
)
def test_malformed_callbacks_get_a_problem(client: TestClient, form: dict[str, str]) -> None:
    response = client.post("/api/panic/channels/ussd", data=form)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_json_instead_of_form_fields_is_refused(client: TestClient) -> None:
    body = {"sessionId": "s1", "phoneNumber": UNKNOWN, "text": "1"}
    response = client.post("/api/panic/channels/ussd", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_a_configured_gateway_key_is_required(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, platform: Platform, operator: Principal
) -> None:
    monkeypatch.setenv("KHUSELA_GATEWAY_KEY", "s3cret-gateway")
    refused = dial(client, "s1", "1")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert dial(client, "s1", "1", **{"X-Khusela-Gateway-Key": "wrong"}).status_code == 401
    assert queue(platform, operator) == []
    accepted = dial(client, "s1", "1", **{"X-Khusela-Gateway-Key": "s3cret-gateway"})
    assert accepted.status_code == 200
    assert len(queue(platform, operator)) == 1


@pytest.fixture
def production_client(
    tmp_path: Path, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.delenv("KHUSELA_GATEWAY_KEY", raising=False)
    settings = Settings(environment="production", data_dir=tmp_path, secret_key="x" * 40)
    with TestClient(create_app(bootstrap(settings, db=sqlite_db, bus=InProcessBus()))) as test_client:
        yield test_client


def test_production_refuses_gateways_until_a_key_is_set(
    production_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dial(production_client, "s1", "").status_code == 503
    monkeypatch.setenv("KHUSELA_GATEWAY_KEY", "s3cret-gateway")
    assert dial(production_client, "s1", "", **{"X-Khusela-Gateway-Key": "s3cret-gateway"}).status_code == 200
