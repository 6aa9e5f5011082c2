"""The partner link end to end: a real HTTP server stands in for a security firm's control
room and checks every webhook's signature; the firm's signed reports come back through
the API and move the alert (or are refused); a failing partner blocks no one else."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from khusela.api.app import create_app
from khusela.bootstrap import Platform
from khusela.core.errors import Conflict
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic import dispatch, records
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertStatus, AlertType, Channel, UnitKind
from khusela.panic.partners import link, updates
from khusela.panic.partners.delivery import PartnerDelivery, Retry
from khusela.panic.partners.link import SIGNATURE_HEADER, TIMESTAMP_HEADER, PartnerStatus
from khusela.panic.partners.repository import PartnerRepository
from khusela.panic.partners.tables import partner_deliveries
from khusela.panic.queries import timeline
from khusela.panic.units import register_unit
from khusela.store.database import Database
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW, resident_headers

SECRET = "s3cret-shared-with-sentinel-armed-response-0001"
OTHER_SECRET = "another-partner-secret-for-rapid-medical-0002"
PHONE = "+27825550101"
NOTE = "He broke the window, call me on 0825550177"


# --------------------------------------------------------------------- a partner's webhook


class Webhook:
    """A partner's control room: a real HTTP server on 127.0.0.1 that verifies signatures."""

    def __init__(self, secret: str, status: int = 200, delay: float = 0.0) -> None:
        self.secret, self.status, self.delay = secret, status, delay
        self.messages: list[dict[str, Any]] = []
        self.attempts = 0
        self.bad_signatures = 0
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/khusela/webhook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    link.verify(
                        hook.secret,
                        raw,
                        self.headers.get(TIMESTAMP_HEADER),
                        self.headers.get(SIGNATURE_HEADER),
                        datetime.now(UTC),
                    )
                except link.BadSignature:
                    verified = False
                else:
                    verified = True
                time.sleep(hook.delay)
                self.send_response(hook.status if verified else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with hook._changed:
                    hook.attempts += 1
                    if not verified:
                        hook.bad_signatures += 1
                    elif hook.status < 300:
                        message = json.loads(raw)
                        message["_delivery_header"] = self.headers.get(link.DELIVERY_HEADER)
                        hook.messages.append(message)
                    hook._changed.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads what arrived instead."""

        return Handler

    def wait_for(self, condition: Callable[[Webhook], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; messages so far: {[m['kind'] for m in self.messages]}"
                self._changed.wait(left)

    def wait_messages(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait_for(lambda hook: len(hook.messages) >= count, timeout)
        return list(self.messages)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhooks() -> Iterator[Callable[..., Webhook]]:
    made: list[Webhook] = []

    def make(secret: str = SECRET, status: int = 200, delay: float = 0.0) -> Webhook:
        made.append(Webhook(secret, status, delay))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


# --------------------------------------------------------------------- the platform


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


@pytest.fixture
def delivery(client: TestClient, platform: Platform) -> PartnerDelivery:
    service = next(s for s in platform.background if isinstance(s, PartnerDelivery))
    service.retry = Retry(first=0.05, ceiling=0.2, attempts=3)
    return service


@pytest.fixture
def resident(client: TestClient, platform: Platform, people: People) -> dict[str, str]:
    person = people.user("nomsa", Role.RESIDENT, phone=PHONE)
    return resident_headers(client, platform, person, PHONE)


@pytest.fixture
def operator(client: TestClient, people: People) -> dict[str, str]:
    return bearer(client, people.user("thandi", Role.OPERATOR))


@pytest.fixture
def admin(client: TestClient, people: People) -> dict[str, str]:
    return bearer(client, people.user("root", Role.ADMIN))


@pytest.fixture
def sentinel(people: People) -> str:
    """A Johannesburg armed-response firm."""
    return people.agency(
        "Sentinel Armed Response",
        AgencyType.PRIVATE_SECURITY,
        Jurisdiction(municipalities=frozenset({"JHB"})),
    )


def register(
    client: TestClient, admin: dict[str, str], agency_id: str, url: str, secret: str = SECRET
) -> dict[str, Any]:
    response = client.put(
        f"/api/panic/partners/{agency_id}/link", headers=admin, json={"url": url, "secret": secret}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def alert_id(client: TestClient, resident: dict[str, str], delivery: PartnerDelivery) -> str:
    body = {
        "type": "crime",
        "lat": HILLBROW[0],
        "lon": HILLBROW[1],
        "accuracy_m": 12,
        "client_alert_id": "c1",
        "note": NOTE,
    }
    response = client.post("/api/panic/alerts", headers=resident, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def offer(client: TestClient, operator: dict[str, str], alert_id: str, agency_id: str) -> Any:
    return client.post(f"/api/panic/alerts/{alert_id}/offer", headers=operator, json={"agency_id": agency_id})


def report(
    client: TestClient,
    agency_id: str,
    body: dict[str, Any],
    *,
    secret: str = SECRET,
    sent_at: float | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    raw = json.dumps({"at": datetime.now(UTC).isoformat(), **body}).encode()
    stamp = int(time.time() if sent_at is None else sent_at)
    signed = {
        "content-type": "application/json",
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: link.signature(secret, stamp, raw),
    }
    return client.post(
        f"/api/panic/partners/{agency_id}/updates",
        content=raw,
        headers=signed if headers is None else {"content-type": "application/json", **headers},
    )


def kinds(client: TestClient, operator: dict[str, str], alert_id: str) -> list[str]:
    detail = client.get(f"/api/panic/alerts/{alert_id}", headers=operator).json()
    return [t["kind"] for t in detail["timeline"]]


# --------------------------------------------------------------------- registration


def test_only_admins_register_and_only_partner_agencies(
    client: TestClient, people: People, admin: dict[str, str], operator: dict[str, str], sentinel: str
) -> None:
    url = "http://127.0.0.1:9/hook"
    denied = client.put(f"/api/panic/partners/{sentinel}/link", headers=operator, json={"url": url})
    assert denied.status_code == 403
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION)
    refused = client.put(f"/api/panic/partners/{saps}/link", headers=admin, json={"url": url})
    assert refused.status_code == 422
    bad_url = client.put(f"/api/panic/partners/{sentinel}/link", headers=admin, json={"url": "ftp://x/y"})
    assert bad_url.status_code == 422
    created = client.put(f"/api/panic/partners/{sentinel}/link", headers=admin, json={"url": url})
    assert created.status_code == 200
    assert len(created.json()["secret"]) >= 32, "a secret is generated when none is given"
    listed = client.get("/api/panic/partners", headers=admin).json()
    assert listed == [
        {"agency_id": sentinel, "agency_name": "Sentinel Armed Response", "url": url, "active": True}
    ]


# --------------------------------------------------------------------- outgoing


def test_an_offer_reaches_the_partner_signed_and_without_personal_details(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    sentinel: str,
    alert_id: str,
    webhooks: Callable[..., Webhook],
) -> None:
    hook = webhooks()
    register(client, admin, sentinel, hook.url)
    response = offer(client, operator, alert_id, sentinel)
    assert response.status_code == 202, response.text
    assert response.json() == {"alert_id": alert_id, "agency_id": sentinel, "status": "offered"}
    [message] = hook.wait_messages(1)
    assert hook.bad_signatures == 0
    assert message["kind"] == "offer"
    assert message["_delivery_header"] == message["message_id"]
    assert message["partner_status"] == "offered"
    assert message["reply_path"] == f"/api/panic/partners/{sentinel}/updates"
    sent = message["alert"]
    assert sent["id"] == alert_id
    assert (sent["type"], sent["status"], sent["priority"], sent["open"]) == ("crime", "new", 2, True)
    assert sent["location"]["lat"] == HILLBROW[0]
    assert sent["location"]["accuracy_m"] == 12
    raw = json.dumps(message)
    for personal in ("window", "0825550177", PHONE, "825550101", "resident"):
        assert personal not in raw
    deadline = time.monotonic() + 5
    while "partner_received" not in kinds(client, operator, alert_id):
        assert time.monotonic() < deadline, "the timeline never said the partner received it"
        time.sleep(0.05)
    assert kinds(client, operator, alert_id)[:2] == ["raised", "partner_offered"]
    assert offer(client, operator, alert_id, sentinel).status_code == 409, "already with the partner"


def test_later_changes_follow_as_updates(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    resident: dict[str, str],
    sentinel: str,
    alert_id: str,
    webhooks: Callable[..., Webhook],
) -> None:
    hook = webhooks()
    register(client, admin, sentinel, hook.url)
    offer(client, operator, alert_id, sentinel)
    hook.wait_messages(1)
    assert report(client, sentinel, {"alert_id": alert_id, "status": "accepted"}).status_code == 200
    moved = {"lat": HILLBROW[0] + 0.002, "lon": HILLBROW[1], "accuracy_m": 8}
    assert (
        client.post(f"/api/panic/alerts/{alert_id}/locations", headers=resident, json=moved).status_code
        == 200
    )
    offered, update = hook.wait_messages(2)
    assert update["kind"] == "update"
    assert update["partner_status"] == "accepted"
    assert update["alert"]["location"]["lat"] == pytest.approx(HILLBROW[0] + 0.002)
    assert update["alert"]["version"] > offered["alert"]["version"]
    time.sleep(0.5)
    assert len(hook.messages) == 2, "the partner's own report is not echoed back to it"


def test_dispatching_a_partner_unit_offers_the_alert(
    client: TestClient,
    platform: Platform,
    people: People,
    admin: dict[str, str],
    sentinel: str,
    alert_id: str,
    webhooks: Callable[..., Webhook],
) -> None:
    hook = webhooks()
    register(client, admin, sentinel, hook.url)
    with platform.db.write() as conn:
        unit = register_unit(
            conn,
            SYSTEM,
            agency_id=sentinel,
            callsign="SAR-07",
            kind=UnitKind.SECURITY_VEHICLE,
            lat=HILLBROW[0] + 0.01,
            lon=HILLBROW[1],
            province="GP",
            municipality="JHB",
        )
    dispatcher = people.user("dispatcher", Role.OPERATOR).principal
    with platform.db.write() as conn:
        dispatch.dispatch(conn, dispatcher, alert_id, unit.id)
    [message] = hook.wait_messages(1)
    assert message["kind"] == "offer"
    assert message["alert"]["status"] == "dispatched"
    with platform.db.read() as conn:
        assert PartnerRepository(conn).offer(alert_id, sentinel) is not None


def test_a_failing_partner_blocks_no_one_and_the_operator_is_told(
    client: TestClient,
    platform: Platform,
    people: People,
    admin: dict[str, str],
    operator: dict[str, str],
    sentinel: str,
    alert_id: str,
    webhooks: Callable[..., Webhook],
) -> None:
    ems = people.agency("Rapid Medical Response", AgencyType.EMS)
    slow_firm = people.agency("Slow Guarding", AgencyType.PRIVATE_SECURITY)
    down = webhooks(secret=OTHER_SECRET, status=500)
    slow = webhooks(secret=SECRET, delay=2.0)
    good = webhooks()
    register(client, admin, ems, down.url, secret=OTHER_SECRET)
    register(client, admin, slow_firm, slow.url)
    register(client, admin, sentinel, good.url)
    started = time.monotonic()
    for agency in (ems, slow_firm, sentinel):
        assert offer(client, operator, alert_id, agency).status_code == 202
    good.wait_messages(1, timeout=1.5)
    assert time.monotonic() - started < 1.5, "the slow partner held up the others"
    down.wait_for(lambda hook: hook.attempts >= 3)
    deadline = time.monotonic() + 5
    while "partner_unreachable" not in kinds(client, operator, alert_id):
        assert time.monotonic() < deadline, "the operator was never told"
        time.sleep(0.05)
    with platform.db.read() as conn:
        failed = conn.execute(select(partner_deliveries).where(partner_deliveries.c.agency_id == ems)).one()
    assert failed.attempts == 3
    assert failed.gave_up_at is not None
    assert failed.last_error == "HTTP 500"
    slow.wait_messages(1)
    assert down.bad_signatures == slow.bad_signatures == good.bad_signatures == 0


# --------------------------------------------------------------------- incoming


@pytest.fixture
def offered(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    sentinel: str,
    alert_id: str,
    webhooks: Callable[..., Webhook],
) -> str:
    hook = webhooks()
    register(client, admin, sentinel, hook.url)
    assert offer(client, operator, alert_id, sentinel).status_code == 202
    return alert_id


def test_signatures_are_checked(client: TestClient, sentinel: str, offered: str) -> None:
    body = {"alert_id": offered, "status": "accepted"}
    now = time.time()
    refused = {
        "wrong secret": report(client, sentinel, body, secret="not-the-secret"),
        "missing": report(client, sentinel, body, headers={}),
        "no timestamp": report(client, sentinel, body, headers={SIGNATURE_HEADER: "sha256=00"}),
        "replayed": report(client, sentinel, body, sent_at=now - 6 * 60),
        "from the future": report(client, sentinel, body, sent_at=now + 6 * 60),
        "unknown partner": report(client, "00000000-0000-7000-8000-00000000beef", body),
    }
    for case, response in refused.items():
        assert response.status_code == 401, case
        assert response.headers["content-type"] == "application/problem+json", case
    tampered = json.dumps({"at": datetime.now(UTC).isoformat(), **body}).encode()
    stamp = int(now)
    signature = link.signature(SECRET, stamp, tampered)
    response = client.post(
        f"/api/panic/partners/{sentinel}/updates",
        content=tampered.replace(b"accepted", b"rejected"),
        headers={
            "content-type": "application/json",
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature,
        },
    )
    assert response.status_code == 401, "a changed body breaks the signature"
    good = report(client, sentinel, body, sent_at=now - 4 * 60)
    assert good.status_code == 200, good.text
    assert good.json() == {"alert_id": offered, "status": "accepted", "alert_status": "acknowledged"}


def test_the_partner_flow_is_a_checked_state_machine(
    client: TestClient, operator: dict[str, str], sentinel: str, offered: str
) -> None:
    def send(status: str, **extra: Any) -> int:
        return int(report(client, sentinel, {"alert_id": offered, "status": status, **extra}).status_code)

    assert send("dispatched") == 409, "not before accepting"
    assert send("on_scene") == 409
    assert send("closed") == 409
    assert send("accepted") == 200
    assert send("accepted") == 200, "a retried report changes nothing"
    assert send("on_scene") == 409, "dispatched comes first"
    assert send("dispatched", unit_ref="AR-12", eta_seconds=420) == 200
    assert send("on_scene") == 200
    assert send("rejected") == 409, "too late to reject once on scene"
    assert send("closed", outcome="false_alarm") == 200
    assert send("accepted") == 409, "closed is final"
    detail = client.get(f"/api/panic/alerts/{offered}", headers=operator).json()
    assert detail["status"] == "resolved"
    assert detail["outcome"] == "false_alarm"
    partner_lines = [t for t in detail["timeline"] if t["kind"].startswith("partner_")]
    assert [t["kind"] for t in partner_lines if t["kind"] != "partner_received"] == [
        "partner_offered",
        "partner_accepted",
        "partner_dispatched",
        "partner_on_scene",
        "partner_closed",
    ]
    dispatched = next(t for t in partner_lines if t["kind"] == "partner_dispatched")
    assert dispatched["actor"] == f"partner:{sentinel}"
    assert dispatched["details"]["unit_ref"] == "AR-12"
    assert dispatched["details"]["eta_seconds"] == 420


def test_reports_about_alerts_not_offered_or_malformed_are_refused(
    client: TestClient, platform: Platform, sentinel: str, offered: str
) -> None:
    command = RaisePanicAlert(
        type=AlertType.FIRE, channel=Channel.DEVICE, sender="device:kiosk-1", lat=HILLBROW[0], lon=HILLBROW[1]
    )
    with platform.db.write() as conn:
        other = raise_alert(conn, command, platform.gazetteer).alert["id"]
    assert report(client, sentinel, {"alert_id": other, "status": "accepted"}).status_code == 404
    assert report(client, sentinel, {"alert_id": "no-such-alert", "status": "accepted"}).status_code == 404
    malformed: list[dict[str, Any]] = [
        {"alert_id": offered, "status": "teleported"},
        {"alert_id": offered, "status": "accepted", "at": "2026-03-14T18:30:15"},
        {"alert_id": offered, "status": "closed", "outcome": "cancelled_by_resident"},
        {"alert_id": offered, "status": "accepted", "admin": True},
    ]
    for body in malformed:
        assert report(client, sentinel, body).status_code == 422, body


def test_a_rejection_returns_the_alert_to_the_operator_queue(
    client: TestClient, operator: dict[str, str], sentinel: str, offered: str
) -> None:
    assert report(client, sentinel, {"alert_id": offered, "status": "accepted"}).status_code == 200
    assert report(client, sentinel, {"alert_id": offered, "status": "dispatched"}).status_code == 200
    held = client.get(f"/api/panic/alerts/{offered}", headers=operator).json()
    assert (held["status"], held["assigned_agency_id"]) == ("dispatched", sentinel)
    rejected = report(
        client, sentinel, {"alert_id": offered, "status": "rejected", "reason": "vehicle broke down"}
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["alert_status"] == "acknowledged"
    queue = client.get("/api/panic/alerts?status=acknowledged", headers=operator).json()
    assert [a["id"] for a in queue] == [offered]
    assert queue[0]["assigned_agency_id"] is None
    detail = client.get(f"/api/panic/alerts/{offered}", headers=operator).json()
    line = detail["timeline"][-1]
    assert line["kind"] == "partner_rejected"
    assert line["details"]["reason"] == "vehicle broke down"
    assert line["details"]["returned_to_queue"] is True
    assert offer(client, operator, offered, sentinel).status_code == 202, "it may be offered again"


# --------------------------------------------------------------------- storage, both backends


@pytest.fixture
def partner_database(database: Database) -> Database:
    """The migrated test database (partner tables included), on both backends."""
    return database


def test_offers_reports_and_delivery_claims_on_both_databases(partner_database: Database) -> None:
    database = partner_database
    people = People(database)
    firm = people.agency("Sentinel Armed Response", AgencyType.PRIVATE_SECURITY)
    thandi = people.user("thandi", Role.OPERATOR).principal
    now = datetime.now(UTC)
    from khusela.core.gazetteer import BundledGazetteer

    command = RaisePanicAlert(
        type=AlertType.CRIME, channel=Channel.APP, sender="device:1", lat=HILLBROW[0], lon=HILLBROW[1]
    )
    with database.write() as conn:
        alert = raise_alert(conn, command, BundledGazetteer()).alert
        updates.set_link(
            conn, SYSTEM, firm, "https://sentinel.example/hook", SECRET, True, now, require_https=True
        )
        updates.offer(conn, thandi, alert["id"], firm, now)
    with database.write() as conn, pytest.raises(Conflict):
        updates.offer(conn, thandi, alert["id"], firm, now)
    with database.write() as conn:
        repo = PartnerRepository(conn)
        [due] = repo.due(now, 10)
        claimed = repo.claim(due, now, timedelta(seconds=30))
        assert claimed is not None
        assert claimed.attempts == 1
        assert repo.claim(due, now, timedelta(seconds=30)) is None, "leased to the first claimant"
        repo.delivered(due, now)
        assert repo.due(now + timedelta(minutes=5), 10) == []
    for status in ("accepted", "dispatched", "rejected"):
        with database.write() as conn:
            updates.report(conn, firm, updates.PartnerReport(alert["id"], PartnerStatus(status), now), now)
    with database.read() as conn:
        row = records.load(conn, alert["id"])
        lines = [t["kind"] for t in timeline(conn, alert["id"])]
        assert PartnerRepository(conn).active_offers(alert["id"]) == []
    assert (row["status"], row["assigned_agency_id"]) == (AlertStatus.ACKNOWLEDGED.value, None)
    assert lines[-3:] == ["partner_accepted", "partner_dispatched", "partner_rejected"]


# --------------------------------------------------------------------- the protocol, pure


def test_signature_covers_timestamp_and_body() -> None:
    now = datetime(2026, 3, 14, 16, 30, tzinfo=UTC)
    body = b'{"alert_id":"a","status":"accepted"}'
    headers = link.signed_headers(SECRET, body, now)
    link.verify(
        SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], now + timedelta(minutes=4)
    )
    stale = now + timedelta(minutes=6)
    with pytest.raises(link.BadSignature, match="replay"):
        link.verify(SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], stale)
    shifted = str(int(headers[TIMESTAMP_HEADER]) + 60)
    with pytest.raises(link.BadSignature, match="does not match"):
        link.verify(SECRET, body, shifted, headers[SIGNATURE_HEADER], now)
    assert headers[SIGNATURE_HEADER].startswith("sha256=")


@pytest.mark.parametrize(
    ("current", "allowed"),
    [
        (PartnerStatus.OFFERED, {PartnerStatus.ACCEPTED, PartnerStatus.REJECTED}),
        (PartnerStatus.ACCEPTED, {PartnerStatus.DISPATCHED, PartnerStatus.REJECTED, PartnerStatus.CLOSED}),
        (PartnerStatus.DISPATCHED, {PartnerStatus.ON_SCENE, PartnerStatus.REJECTED, PartnerStatus.CLOSED}),
        (PartnerStatus.ON_SCENE, {PartnerStatus.CLOSED}),
        (PartnerStatus.REJECTED, set()),
        (PartnerStatus.CLOSED, set()),
    ],
)
def test_partner_state_machine(current: PartnerStatus, allowed: set[PartnerStatus]) -> None:
    assert {s for s in PartnerStatus if link.can_report(current, s)} == allowed


def test_a_rejection_with_units_still_assigned_waits_for_the_operator() -> None:
    now = datetime(2026, 3, 14, 16, 30, tzinfo=UTC)
    held = {"status": "dispatched", "assigned_agency_id": "firm", "acknowledged_at": now}
    assert link.alert_changes(held, "firm", PartnerStatus.REJECTED, now, None, units_on_alert=1) == {}
    assert link.alert_changes(held, "firm", PartnerStatus.REJECTED, now, None) == {
        "assigned_agency_id": None,
        "status": "acknowledged",
    }
    someone_else = {**held, "assigned_agency_id": "saps"}
    assert link.alert_changes(someone_else, "firm", PartnerStatus.ON_SCENE, now, None) == {}
