"""Signing in and out through the API, as operators and residents do."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Environment, Settings
from khusela.identity import totp
from khusela.identity.adapters.sms_log import LogSmsSender
from khusela.identity.model import Clearance, Role
from khusela.store.database import Database
from tests.conftest import People, bearer


def test_operator_signs_in_with_totp_and_reads_me(client: TestClient, people: People) -> None:
    operator = people.user("thandi", Role.OPERATOR, clearance=Clearance.RESTRICTED)
    response = client.post("/api/auth/login", json=operator.login_body())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_at"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "thandi"
    assert me.json()["roles"] == ["operator"]
    assert me.json()["clearance"] == "restricted"
    assert me.json()["agency"]["name"] == "Gauteng Provincial Command Centre"
    assert "panic.dispatch" in me.json()["permissions"]


def test_staff_without_totp_code_is_refused(client: TestClient, people: People) -> None:
    operator = people.user("thandi", Role.OPERATOR)
    response = client.post("/api/auth/login", json={"username": "thandi", "password": operator.password})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_wrong_totp_code_is_refused(client: TestClient, people: People) -> None:
    operator = people.user("thandi", Role.OPERATOR)
    assert operator.totp_secret is not None
    good = totp.current_code(operator.totp_secret)
    wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
    response = client.post("/api/auth/login", json={**operator.login_body(), "totp": wrong})
    assert response.status_code == 401


def test_community_partner_needs_no_totp(client: TestClient, people: People) -> None:
    partner = people.user("sipho", Role.COMMUNITY_PARTNER)
    assert partner.totp_secret is None
    response = client.post("/api/auth/login", json={"username": "sipho", "password": partner.password})
    assert response.status_code == 200


def test_lockout_after_five_failures_even_with_the_right_password(client: TestClient, people: People) -> None:
    operator = people.user("thandi", Role.OPERATOR)
    for _ in range(5):
        bad = client.post("/api/auth/login", json={"username": "thandi", "password": "wrong password!"})
        assert bad.status_code == 401
    locked = client.post("/api/auth/login", json=operator.login_body())
    assert locked.status_code == 423
    assert "15 minutes" in locked.json()["detail"]


def test_failures_below_the_limit_do_not_lock(client: TestClient, people: People) -> None:
    operator = people.user("thandi", Role.OPERATOR)
    for _ in range(4):
        client.post("/api/auth/login", json={"username": "thandi", "password": "wrong password!"})
    assert client.post("/api/auth/login", json=operator.login_body()).status_code == 200


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient, people: People) -> None:
    people.user("thandi", Role.OPERATOR)
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "whatever-12"})
    wrong = client.post("/api/auth/login", json={"username": "thandi", "password": "whatever-12"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]


def test_logout_revokes_the_token(client: TestClient, people: People) -> None:
    headers = bearer(client, people.user("thandi", Role.OPERATOR))
    assert client.get("/api/me", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    after = client.get("/api/me", headers=headers)
    assert after.status_code == 401
    assert after.headers["www-authenticate"] == "Bearer"


def test_expired_token_is_refused(client: TestClient, platform: Platform, people: People) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from khusela.identity.tables import access_tokens

    person = people.user("thandi", Role.OPERATOR)
    token = client.post("/api/auth/login", json=person.login_body()).json()["access_token"]
    with platform.db.write() as conn:
        conn.execute(update(access_tokens).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    platform.authenticator.forget(token)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_resident_signs_in_with_a_texted_code(client: TestClient, platform: Platform, people: People) -> None:
    people.user("nomsa", Role.RESIDENT, phone="082 555 0101")
    sent = client.post("/api/auth/resident/code", json={"phone": "0825550101"})
    assert sent.status_code == 202
    sms = platform.sms
    assert isinstance(sms, LogSmsSender)
    phone, message = sms.sent[-1]
    assert phone == "+27825550101"
    match = re.search(r"\b(\d{6})\b", message)
    assert match
    token = client.post("/api/auth/resident/token", json={"phone": "+27825550101", "code": match.group(1)})
    assert token.status_code == 200
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["roles"] == ["resident"]
    assert me.json()["agency"] is None
    again = client.post("/api/auth/resident/token", json={"phone": "+27825550101", "code": match.group(1)})
    assert again.status_code == 401, "a code is spent once used"


def test_unregistered_phone_gets_the_same_answer_and_no_text(client: TestClient, platform: Platform) -> None:
    response = client.post("/api/auth/resident/code", json={"phone": "0825550199"})
    assert response.status_code == 202
    assert isinstance(platform.sms, LogSmsSender)
    assert not platform.sms.sent


def test_three_wrong_codes_spend_the_code(client: TestClient, platform: Platform, people: People) -> None:
    people.user("nomsa", Role.RESIDENT, phone="0825550101")
    client.post("/api/auth/resident/code", json={"phone": "0825550101"})
    assert isinstance(platform.sms, LogSmsSender)
    code = re.findall(r"\d{6}", platform.sms.sent[-1][1])[0]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        assert (
            client.post("/api/auth/resident/token", json={"phone": "0825550101", "code": wrong}).status_code
            == 401
        )
    assert (
        client.post("/api/auth/resident/token", json={"phone": "0825550101", "code": code}).status_code == 401
    )


def test_logins_are_audited(client: TestClient, platform: Platform, people: People) -> None:
    from khusela.audit import log as audit

    person = people.user("thandi", Role.OPERATOR)
    client.post("/api/auth/login", json={"username": "thandi", "password": "wrong password!"})
    client.post("/api/auth/login", json=person.login_body())
    with platform.db.read() as conn:
        actions = [r.action for r in audit.recent(conn, 10)]
        assert audit.verify(conn).ok
    assert actions[:2] == ["auth.login", "auth.login_failed"]


def test_production_without_sms_gateway_answers_alike_for_every_number(
    settings: Settings, sqlite_db: Database
) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION, "secret_key": "s" * 40})
    platform = bootstrap(production, db=sqlite_db, bus=InProcessBus())
    People(sqlite_db).user("nomsa", Role.RESIDENT, phone="0825550101")
    with TestClient(create_app(platform)) as client:
        known = client.post("/api/auth/resident/code", json={"phone": "0825550101"})
        unknown = client.post("/api/auth/resident/code", json={"phone": "0825550199"})
    assert known.status_code == unknown.status_code == 503
    assert known.json()["detail"] == unknown.json()["detail"]
