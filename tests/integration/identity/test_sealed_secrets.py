"""Secrets sealed at rest: the database holds neither TOTP seeds nor partner secrets in the
clear, yet sign-in and the partner link work; a changed server secret fails closed; the
migration seals what older versions stored in plaintext."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.gazetteer import BundledGazetteer
from khusela.core.logging import configure_logging
from khusela.core.sealed import Sealer, from_settings, is_sealed
from khusela.core.settings import Settings
from khusela.identity import totp
from khusela.identity.model import AgencyType, Role
from khusela.identity.tables import users
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel
from khusela.panic.partners import link, updates
from khusela.panic.partners.delivery import PartnerDelivery
from khusela.panic.partners.repository import Delivery
from khusela.panic.partners.tables import SEALED as PARTNER_SEALED
from khusela.panic.partners.tables import partner_links
from khusela.store.database import Database
from khusela.store.migrate import downgrade, upgrade
from tests.conftest import PASSWORD, People, Person
from tests.panic_support import HILLBROW

BASE32 = re.compile(r"^[A-Z2-7]{16,}=*$")
PARTNER_SECRET = "s3cret-shared-with-sentinel-armed-response-0001"


@pytest.fixture
def both_platform(settings: Settings, database: Database) -> Platform:
    """The platform on the test's database (SQLite and PostgreSQL both)."""
    return bootstrap(settings, db=database, bus=InProcessBus())


@pytest.fixture
def api(both_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(both_platform)) as client:
        yield client


def stored_totp(db: Database, username: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(text("SELECT totp_secret FROM users WHERE username = :u"), {"u": username}).scalar()
        )


def sign_in(client: TestClient, person: Person) -> int:
    return client.post("/api/auth/login", json=person.login_body()).status_code


# --------------------------------------------------------------------- TOTP


@pytest.mark.both_databases
def test_the_users_row_holds_no_totp_seed_yet_sign_in_works(api: TestClient, both_platform: Platform) -> None:
    person = People(both_platform.db).user("thandi", Role.OPERATOR)
    assert person.totp_secret
    assert BASE32.match(person.totp_secret), "handed out once, for enrolment"
    stored = stored_totp(both_platform.db, "thandi")
    assert is_sealed(stored)
    assert person.totp_secret not in stored
    assert not BASE32.search(stored.removeprefix("sealed:v1:"))
    assert sign_in(api, person) == 200


def test_a_user_created_through_the_api_is_sealed_and_can_sign_in(
    client: TestClient, platform: Platform, people: People
) -> None:
    admin = people.user("root", Role.ADMIN)
    login = client.post("/api/auth/login", json=admin.login_body()).json()
    created = client.post(
        "/api/users",
        headers={"Authorization": f"Bearer {login['access_token']}"},
        json={"username": "sipho", "roles": ["operator"], "password": PASSWORD, "agency_id": people.agency()},
    )
    assert created.status_code == 201, created.text
    seed = re.search(r"secret=([A-Z2-7]+)", created.json()["totp_provisioning_uri"])
    assert seed is not None
    assert seed.group(1) not in stored_totp(platform.db, "sipho")
    body = {"username": "sipho", "password": PASSWORD, "totp": totp.current_code(seed.group(1))}
    assert client.post("/api/auth/login", json=body).status_code == 200


def test_a_seed_copied_into_another_users_row_does_not_sign_in(
    client: TestClient, platform: Platform, people: People
) -> None:
    """An attacker who can write the database but not read the key cannot give their own
    account a victim's seed (or theirs to the victim): each seal is bound to its row."""
    victim = people.user("thandi", Role.OPERATOR)
    attacker = people.user("mallory", Role.OPERATOR)
    with platform.db.write() as conn:
        conn.execute(
            update(users)
            .where(users.c.username == "mallory")
            .values(totp_secret=stored_totp(platform.db, "thandi"))
        )
    assert victim.totp_secret
    body = {
        "username": "mallory",
        "password": attacker.password,
        "totp": totp.current_code(victim.totp_secret),
    }
    assert client.post("/api/auth/login", json=body).status_code == 401


def test_a_changed_server_secret_fails_closed_with_a_log_line_and_no_secret(
    settings: Settings, sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    person = People(sqlite_db).user("thandi", Role.OPERATOR)  # sealed under the settings' key
    rotated = bootstrap(
        settings.model_copy(update={"secret_key": "a-new-key-" * 4}), db=sqlite_db, bus=InProcessBus()
    )
    configure_logging("INFO")
    with TestClient(create_app(rotated)) as client:
        assert sign_in(client, person) == 401
    logs = capsys.readouterr().err
    assert "identity.totp_secret_unreadable" in logs
    assert person.totp_secret
    assert person.totp_secret not in logs
    assert "a-new-key-" not in logs


def test_legacy_plaintext_still_signs_in_until_sealed(
    client: TestClient, platform: Platform, people: People
) -> None:
    person = people.user("thandi", Role.OPERATOR)
    with platform.db.write() as conn:
        conn.execute(update(users).where(users.c.username == "thandi").values(totp_secret=person.totp_secret))
    assert sign_in(client, person) == 200


# --------------------------------------------------------------------- the partner link


def offered_alert(platform: Platform, people: People) -> tuple[str, str]:
    """An alert offered to a linked firm: (firm's agency id, alert id)."""
    firm = people.agency("Sentinel Armed Response", AgencyType.PRIVATE_SECURITY)
    operator = people.user("thandi", Role.OPERATOR).principal
    now = datetime.now(UTC)
    command = RaisePanicAlert(
        type=AlertType.CRIME, channel=Channel.APP, sender="device:1", lat=HILLBROW[0], lon=HILLBROW[1]
    )
    with platform.db.write() as conn:
        alert = raise_alert(conn, command, BundledGazetteer()).alert
        updates.offer(conn, operator, alert["id"], firm, now)
    return firm, alert["id"]


def partner_report(client: TestClient, agency_id: str, alert_id: str, secret: str) -> int:
    raw = json.dumps(
        {"alert_id": alert_id, "status": "accepted", "at": datetime.now(UTC).isoformat()}
    ).encode()
    stamp = int(time.time())
    headers = {
        "content-type": "application/json",
        link.TIMESTAMP_HEADER: str(stamp),
        link.SIGNATURE_HEADER: link.signature(secret, stamp, raw),
    }
    return client.post(f"/api/panic/partners/{agency_id}/updates", content=raw, headers=headers).status_code


def register(client: TestClient, people: People, firm: str) -> None:
    admin = people.user("root", Role.ADMIN)
    token = client.post("/api/auth/login", json=admin.login_body()).json()["access_token"]
    response = client.put(
        f"/api/panic/partners/{firm}/link",
        headers={"Authorization": f"Bearer {token}"},
        json={"url": "https://sentinel.example/hook", "secret": PARTNER_SECRET},
    )
    assert response.status_code == 200, response.text


def test_a_partner_secret_is_sealed_yet_signed_reports_verify(
    client: TestClient, platform: Platform, people: People
) -> None:
    firm = people.agency("Sentinel Armed Response", AgencyType.PRIVATE_SECURITY)
    register(client, people, firm)
    with platform.db.read() as conn:
        stored = conn.execute(
            select(partner_links.c.secret).where(partner_links.c.agency_id == firm)
        ).scalar_one()
    assert is_sealed(stored)
    assert PARTNER_SECRET not in stored
    _, alert_id = offered_alert(platform, people)
    assert partner_report(client, firm, alert_id, "not-the-shared-secret-at-all-000") == 401
    assert partner_report(client, firm, alert_id, PARTNER_SECRET) == 200


def test_a_partner_report_is_refused_when_the_server_secret_changed(
    settings: Settings, sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    people = People(sqlite_db)
    platform = bootstrap(settings, db=sqlite_db, bus=InProcessBus())
    with TestClient(create_app(platform)) as client:
        firm = people.agency("Sentinel Armed Response", AgencyType.PRIVATE_SECURITY)
        register(client, people, firm)
    firm, alert_id = offered_alert(platform, people)
    rotated = bootstrap(
        settings.model_copy(update={"secret_key": "a-new-key-" * 4}), db=sqlite_db, bus=InProcessBus()
    )
    configure_logging("INFO")
    with TestClient(create_app(rotated)) as client:
        assert partner_report(client, firm, alert_id, PARTNER_SECRET) == 401
    logs = capsys.readouterr().err
    assert "partner_link.secret_unreadable" in logs
    assert PARTNER_SECRET not in logs


def test_no_message_goes_out_when_the_partner_secret_does_not_open(sqlite_db: Database) -> None:
    """The sender fails closed: the attempt fails with the reason, before any connection."""
    stored = Sealer("the-key-it-was-sealed-under-0001", PARTNER_SEALED).seal(PARTNER_SECRET, "firm-1")
    message = Delivery("d1", "firm-1", "a1", "offer", b"{}", 1, "http://127.0.0.1:9/hook", stored, True)
    sender = PartnerDelivery(sqlite_db, InProcessBus(), sealer=Sealer("a-rotated-key-0002", PARTNER_SEALED))

    async def attempt() -> str | None:
        sender._client = httpx.AsyncClient()
        try:
            return await sender._post(message)
        finally:
            await sender._client.aclose()

    error = asyncio.run(attempt())
    assert error == "the partner's shared secret does not open (was KHUSELA_SECRET_KEY changed?)"


# --------------------------------------------------------------------- the migration


@pytest.mark.both_databases
def test_the_migration_seals_plaintext_and_its_downgrade_opens_it(database: Database) -> None:
    # The agency is made with today's code (it is audited, and the audit log's tables are
    # newer than 0012); the rows under test are written as 0012's code wrote them.
    firm = People(database).agency("Sentinel Armed Response", AgencyType.PRIVATE_SECURITY)
    try:
        _seal_and_open(database, firm)
    finally:
        upgrade(database)  # whatever happened, the next test finds the schema at head


def _seal_and_open(database: Database, firm: str) -> None:
    downgrade(database, "0012")
    seed, user_id = totp.new_secret(), "user-0012"
    with database.write() as conn:
        # What 0012's code wrote: the seed and the partner secret as they are.
        conn.execute(
            users.insert().values(
                id=user_id,
                username="thandi",
                display_name="Thandi",
                totp_secret=seed,
                agency_id=firm,
                clearance=0,
                is_active=True,
                created_at=datetime.now(UTC),
            )
        )
        conn.execute(
            partner_links.insert().values(
                agency_id=firm,
                url="https://sentinel.example/hook",
                secret=PARTNER_SECRET,
                active=True,
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )

    upgrade(database)
    sealed_seed, sealed_partner = stored_totp(database, "thandi"), _partner_secret(database, firm)
    assert is_sealed(sealed_seed)
    assert seed not in sealed_seed
    assert is_sealed(sealed_partner)
    assert PARTNER_SECRET not in sealed_partner
    assert from_settings(totp.SEALED).open(sealed_seed, user_id) == seed
    assert from_settings(PARTNER_SEALED).open(sealed_partner, firm) == PARTNER_SECRET
    upgrade(database)
    assert stored_totp(database, "thandi") == sealed_seed, "what is sealed is left alone"

    downgrade(database, "0012")
    assert (stored_totp(database, "thandi"), _partner_secret(database, firm)) == (seed, PARTNER_SECRET)


def _partner_secret(db: Database, agency_id: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(
                select(partner_links.c.secret).where(partner_links.c.agency_id == agency_id)
            ).scalar_one()
        )
