"""Inbound SMS: `HELP <where I am>` from any phone, through the gateway webhook."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.core.gazetteer import BundledGazetteer
from khusela.identity.model import Principal, Role
from khusela.panic import queries, records
from khusela.panic.channels import identify, raise_from_phone, sms
from khusela.panic.model import AlertType, Channel
from khusela.store.database import Database
from tests.conftest import People

UNKNOWN = "+27831110001"
REGISTERED = "+27831110002"
URL = "/api/panic/channels/sms"


@pytest.fixture(autouse=True)
def open_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KHUSELA_GATEWAY_KEY", raising=False)


@pytest.fixture
def operator(people: People) -> Principal:
    return people.user("thandi", Role.OPERATOR).principal


def queue(platform: Platform, operator: Principal) -> list[records.Alert]:
    with platform.db.read() as conn:
        return queries.list_alerts(conn, operator)


def text_in(client: TestClient, text: str, sender: str = UNKNOWN, **extra: str) -> httpx2.Response:
    """What an SMS gateway posts: form fields, with a few of its own we do not use."""
    return client.post(URL, data={"from": sender, "to": "31337", "text": text, "date": "2026-01-01", **extra})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HELP corner Main and 5th", ("corner Main and 5th", AlertType.OTHER)),
        ("help   corner  Main and 5th ", ("corner Main and 5th", AlertType.OTHER)),
        ("  Help: Jabulani Mall", ("Jabulani Mall", AlertType.OTHER)),
        ("HELP! fire at 12 Vilakazi St", ("fire at 12 Vilakazi St", AlertType.FIRE)),
        ("help Ambulance, Soweto taxi rank", ("Ambulance, Soweto taxi rank", AlertType.MEDICAL)),
        ("HELP", (None, AlertType.OTHER)),
        ("help\n", (None, AlertType.OTHER)),
    ],
)
def test_help_messages_are_read_forgivingly(text: str, expected: tuple[str | None, AlertType]) -> None:
    request = sms.parse(text)
    assert request is not None
    assert (request.location_text, request.type) == expected


@pytest.mark.parametrize("text", ["", "hello", "HELPER wanted", "please help me", "STOP"])
def test_other_messages_are_not_help_requests(text: str) -> None:
    assert sms.parse(text) is None


def test_unregistered_number_raises_an_alert(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    response = text_in(client, "HELP  corner Main and 5th, Soweto")
    assert response.status_code == 200
    body = response.json()
    [alert] = queue(platform, operator)
    assert body["reference"] == alert["id"].replace("-", "")[-6:].upper()
    assert f"Ref {body['reference']}" in body["reply"]
    assert "help is being arranged" in body["reply"]
    assert alert["channel"] == "sms"
    assert alert["resident_id"] is None
    assert alert["note"] == f"Caller {UNKNOWN}"
    assert alert["location_text"] == "corner Main and 5th, Soweto"
    assert alert["location_unknown"] is True


def test_registered_resident_raises_as_themselves(
    client: TestClient, platform: Platform, people: People, operator: Principal
) -> None:
    resident = people.user("nomsa", Role.RESIDENT, phone=REGISTERED)
    text_in(client, "help fire at the school", sender="27831110002")
    [alert] = queue(platform, operator)
    assert alert["resident_id"] == resident.principal.user_id
    assert alert["type"] == "fire"
    assert alert["note"] is None


def test_help_without_a_place_is_accepted_and_flagged(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    response = text_in(client, "HELP")
    assert response.status_code == 200
    assert "We will call you" in response.json()["reply"]
    [alert] = queue(platform, operator)
    assert alert["location_unknown"] is True
    assert alert["location_text"] is None


def test_json_is_accepted_too(client: TestClient, platform: Platform, operator: Principal) -> None:
    response = client.post(URL, json={"from": UNKNOWN, "text": "help Jabulani Mall"})
    assert response.status_code == 200
    assert response.json()["reference"]
    assert len(queue(platform, operator)) == 1


def test_anything_else_gets_the_usage_and_no_alert(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    response = text_in(client, "what is this number?")
    assert response.status_code == 200
    assert response.json() == {"reply": sms.USAGE, "reference": None}
    assert queue(platform, operator) == []
    assert len(sms.USAGE) <= 160


@pytest.mark.parametrize("sender", [UNKNOWN, REGISTERED])
def test_repeat_texts_within_two_minutes_join_one_alert(
    client: TestClient, platform: Platform, people: People, operator: Principal, sender: str
) -> None:
    people.user("nomsa", Role.RESIDENT, phone=REGISTERED)
    first = text_in(client, "HELP Jabulani Mall", sender=sender)
    second = text_in(client, "HELP Jabulani Mall, entrance 3", sender=sender)
    assert first.json()["reference"] == second.json()["reference"]
    [alert] = queue(platform, operator)
    assert alert["presses"] == 2
    assert alert["location_text"] == "Jabulani Mall, entrance 3"


def test_a_gateway_retry_with_its_message_id_is_not_a_second_press(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    text_in(client, "HELP Jabulani Mall", id="ATXid_1")
    text_in(client, "HELP Jabulani Mall", id="ATXid_1")
    [alert] = queue(platform, operator)
    assert alert["presses"] == 1


def test_an_unregistered_number_that_is_not_south_african_is_still_heard(
    client: TestClient, platform: Platform, operator: Principal
) -> None:
    assert text_in(client, "HELP Beitbridge border post", sender="+263771234567").status_code == 200
    [alert] = queue(platform, operator)
    assert alert["note"] == "Caller +263771234567"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"from": 27831110001, "text": "HELP"}}, 422),
        ({"json": {"text": "HELP"}}, 422),
        ({"json": ["HELP"]}, 422),
        ({"json": {"from": UNKNOWN, "text": ["HELP"]}}, 422),
        ({"data": {"text": "HELP"}}, 422),
        ({"data": {"from": "call me", "text": "HELP"}}, 422),
        ({"content": b"HELP", "headers": {"content-type": "text/plain"}}, 415),
    ],
)
def test_malformed_requests_get_a_problem(client: TestClient, kwargs: dict[str, Any], status: int) -> None:
    response = client.post(URL, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert UNKNOWN not in response.text, "problems never echo the phone number"


def test_unknown_numbers_join_on_both_databases(database: Database) -> None:
    """The join for numbers without a resident locks the open alert: SQL both backends run."""
    gazetteer = BundledGazetteer()
    with database.write() as conn:
        caller = identify(conn, UNKNOWN, "pepper")
        assert caller.sender.startswith("phone:")
        assert UNKNOWN not in caller.sender
        first = raise_from_phone(
            conn,
            caller,
            type=AlertType.OTHER,
            channel=Channel.SMS,
            client_alert_id="sms:1",
            location_text=None,
            gazetteer=gazetteer,
        )
    with database.write() as conn:
        second = raise_from_phone(
            conn,
            caller,
            type=AlertType.OTHER,
            channel=Channel.SMS,
            client_alert_id="sms:2",
            location_text="Jabulani Mall",
            gazetteer=gazetteer,
        )
    assert first.created
    assert not second.created
    assert second.alert["id"] == first.alert["id"]
    assert second.alert["presses"] == 2
    assert second.alert["location_text"] == "Jabulani Mall"
