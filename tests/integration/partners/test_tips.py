"""Anonymous tips round-trip with their code, and nothing identifying is stored or logged.

The anonymity test submits from a distinctive client address and user agent, then reads
every text and JSON column of every table in the database, the captured logs and the rate
limiter's memory, looking for either."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, select

from khusela.api.app import create_app
from khusela.api.middleware import RateLimit
from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.partners.tables import partner_tips
from khusela.store.schema import metadata
from tests.conftest import People, bearer

TIPSTER_IP = "198.51.100.73"
TIPSTER_UA = "Mozilla/5.0 (Linux; Android 13; SM-A145F) TipsterFingerprint/42"
HEADERS = {"User-Agent": TIPSTER_UA, "X-Forwarded-For": TIPSTER_IP, "Accept-Language": "zu-ZA"}
TIP = {
    "category": "drugs",
    "body": "A dealer sells from the blue container behind the taxi rank every evening after 7.",
    "municipality": "JHB",
}


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    """One app per platform (its bus lives on one event loop); every caller shares the address."""
    with TestClient(create_app(platform), client=(TIPSTER_IP, 51515)) as test_client:
        yield test_client


@pytest.fixture
def tipster(client: TestClient) -> TestClient:
    return client


def _rate_limiter(app: Any) -> RateLimit:
    handler = app.middleware_stack
    while not isinstance(handler, RateLimit):
        handler = handler.app
    return handler


def test_a_tip_round_trips_with_its_code_and_staff_reply(
    tipster: TestClient, client: TestClient, people: People
) -> None:
    created = tipster.post("/api/partners/tips", json=TIP, headers=HEADERS)
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    code = created.json()["tracking_code"]
    assert len(code.replace("-", "")) == 26  # 128 bits in base32
    seen = tipster.get(f"/api/partners/tips/{code}")
    assert seen.json()["status"] == "new"
    assert [m["body"] for m in seen.json()["messages"]] == [TIP["body"]]

    jhb = people.agency(
        "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    officer = bearer(client, people.user("sgt-khumalo", Role.OPERATOR, agency_id=jhb))
    inbox = client.get("/api/partners/inbox/tips", headers=officer).json()
    assert [t["category"] for t in inbox] == ["drugs"]
    assert "code_hash" not in inbox[0]
    reply = client.post(
        f"/api/partners/inbox/tips/{inbox[0]['id']}/reply",
        headers=officer,
        json={"body": "Thank you. Is the container locked during the day?", "status": "reviewing"},
    )
    assert reply.status_code == 200, reply.text

    more = tipster.post(
        f"/api/partners/tips/{code}/messages", json={"body": "Yes, a padlock; he has the key."}
    )
    assert more.status_code == 201
    thread = more.json()
    assert thread["status"] == "reviewing"
    assert [(m["author"], m["agency_name"]) for m in thread["messages"]] == [
        ("tipster", None),
        ("staff", "SAPS Hillbrow"),
        ("tipster", None),
    ]
    assert tipster.get("/api/partners/tips/AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG").status_code == 404


def test_staff_outside_the_area_do_not_see_the_tip(
    tipster: TestClient, client: TestClient, people: People
) -> None:
    tipster.post("/api/partners/tips", json=TIP)
    tsh = people.agency(
        "SAPS Pretoria Central", AgencyType.SAPS_STATION, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    officer = bearer(client, people.user("sgt-mokoena", Role.OPERATOR, agency_id=tsh))
    assert client.get("/api/partners/inbox/tips", headers=officer).json() == []


def _every_stored_string(platform: Platform) -> list[tuple[str, str, str]]:
    found = []
    with platform.db.read() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        found.append(
                            (table.name, column.name, value if isinstance(value, str) else json.dumps(value))
                        )
    return found


def test_nothing_identifying_is_stored_or_logged(
    tipster: TestClient,
    platform: Platform,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        code = tipster.post("/api/partners/tips", json=TIP, headers=HEADERS).json()["tracking_code"]
        tipster.get(f"/api/partners/tips/{code}", headers=HEADERS)
        tipster.post(
            f"/api/partners/tips/{code}/messages", json={"body": "He drives a white bakkie."}, headers=HEADERS
        )
    stored = _every_stored_string(platform)
    tables = {t for t, _, _ in stored}
    assert {"partner_tips", "partner_tip_messages", "audit_log"} <= tables  # the scan did see the tip
    for needle in (TIPSTER_IP, TIPSTER_UA, "TipsterFingerprint", "51515", code, code.replace("-", "")):
        assert not [(t, c) for t, c, v in stored if needle in v], needle
    # The test client's own httpx logger prints the URL it requested: that is the tipster's side.
    server_records = "\n".join(
        f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith("httpx")
    )
    logged = json.dumps(events, default=str) + server_records + capsys.readouterr().out
    assert (
        '"http.request"' in json.dumps(events, default=str) or "http.request" in logged
    )  # logs were captured
    for needle in (TIPSTER_IP, "TipsterFingerprint", code):
        assert needle not in logged, needle
    limiter = _rate_limiter(tipster.app)
    buckets = " ".join(limiter.anonymous._buckets)
    assert buckets.startswith("x:")
    assert TIPSTER_IP not in buckets
    with platform.db.read() as conn:
        tip = conn.execute(select(partner_tips)).one()
        audited = conn.execute(select(audit_log).where(audit_log.c.object_type == "tip")).all()
    assert tip.received_hour.minute == tip.received_hour.second == 0
    assert {(a.actor, a.details) for a in audited} == {("anonymous", "{}")}


def test_tip_routes_are_rate_limited_without_the_shared_limiter(tipster: TestClient) -> None:
    codes = [
        tipster.post("/api/partners/tips", json=TIP).status_code
        for _ in range(RateLimit.ANONYMOUS_PER_MINUTE + 1)
    ]
    assert codes[-1] == 429
    assert codes[:-1] == [201] * RateLimit.ANONYMOUS_PER_MINUTE
