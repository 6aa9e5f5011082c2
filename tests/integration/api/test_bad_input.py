"""Bad input gets a clear 4xx problem+json, never a 500, and nothing half-done."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Settings
from khusela.identity.model import Role
from khusela.store.database import Database
from tests.conftest import People, bearer

PROBLEM = "application/problem+json"


def _is_problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2", 400),
        (b'{"username": "a", "password": "b", "admin": true}', 422),
        (b'{"username": 5, "password": ["b"]}', 422),
        (b'{"username": "a"}', 422),
        (b'{"username": "a", "password": "b", "totp": "12ab56"}', 422),
        (b"", 422),
    ],
    ids=[
        "malformed",
        "truncated",
        "unknown-field",
        "wrong-types",
        "missing-field",
        "bad-totp-format",
        "empty",
    ],
)
def test_login_refuses_bad_bodies(client: TestClient, body: bytes, status: int) -> None:
    response = client.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    _is_problem(response, status)


def test_validation_errors_never_echo_the_value(client: TestClient) -> None:
    secret = "my-very-secret-password-that-must-not-leak"
    response = client.post("/api/auth/login", json={"username": "a", "password": secret, "extra": secret})
    assert response.status_code == 422
    assert secret not in response.text


def test_oversized_declared_body_is_refused(client: TestClient) -> None:
    big = b'{"username": "' + b"a" * (1024 * 1024 + 10) + b'", "password": "x"}'
    response = client.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
    _is_problem(response, 413)


def test_oversized_chunked_body_is_refused(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'", "password": "x"}'

    response = client.post("/api/auth/login", content=chunks(), headers={"content-type": "application/json"})
    _is_problem(response, 413)


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "bearer", "Token abc"],
)
def test_bad_tokens_are_refused(client: TestClient, header: str) -> None:
    _is_problem(client.get("/api/me", headers={"Authorization": header}), 401)


def test_missing_token_is_refused(client: TestClient) -> None:
    _is_problem(client.get("/api/me"), 401)


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    _is_problem(client.get("/api/nothing-here"), 404)


def test_wrong_method_is_a_problem(client: TestClient) -> None:
    _is_problem(client.delete("/api/me"), 405)


def test_forbidden_for_a_role_without_the_permission(client: TestClient, people: People) -> None:
    headers = bearer(client, people.user("thandi", Role.OPERATOR))
    _is_problem(client.get("/api/users", headers=headers), 403)
    _is_problem(client.post("/api/agencies", headers=headers, json={"name": "X", "type": "ems"}), 403)


def test_bad_agency_input(client: TestClient, people: People) -> None:
    headers = bearer(client, people.user("root", Role.ADMIN))
    _is_problem(client.post("/api/agencies", headers=headers, json={"name": "X", "type": "army"}), 422)
    bad_cell = {"name": "SAPS Test", "type": "saps_station", "jurisdiction": {"cells": ["not-a-cell"]}}
    _is_problem(client.post("/api/agencies", headers=headers, json=bad_cell), 422)
    ok = {"name": "SAPS Test", "type": "saps_station", "jurisdiction": {"cells": ["87c0f5a2dffffff"]}}
    assert client.post("/api/agencies", headers=headers, json=ok).status_code == 201
    _is_problem(client.post("/api/agencies", headers=headers, json=ok), 409)
    names = [a["name"] for a in client.get("/api/agencies", headers=headers).json()]
    assert names.count("SAPS Test") == 1


def test_bad_user_input(client: TestClient, people: People) -> None:
    admin = people.user("root", Role.ADMIN)
    headers = bearer(client, admin)
    agency = admin.principal.agency_id
    cases = [
        {"username": "x", "roles": ["operator"], "agency_id": agency, "password": "long enough pw"},
        {"username": "newop", "roles": [], "agency_id": agency, "password": "long enough pw"},
        {"username": "newop", "roles": ["general"], "agency_id": agency, "password": "long enough pw"},
        {"username": "newop", "roles": ["operator"], "agency_id": agency, "password": "short"},
        {"username": "newop", "roles": ["operator"], "agency_id": agency, "clearance": "cosmic"},
        {"username": "newres", "roles": ["resident"], "phone": "12345"},
    ]
    for case in cases:
        response = client.post("/api/users", headers=headers, json=case)
        assert response.status_code == 422, (case, response.text)
    users = [u["username"] for u in client.get("/api/users", headers=headers).json()]
    assert users == ["root"], "no half-created users"


def test_admin_cannot_grant_more_clearance_than_they_hold(client: TestClient, people: People) -> None:
    admin = people.user("root", Role.ADMIN)
    headers = bearer(client, admin)
    body = {
        "username": "spook",
        "roles": ["intel_analyst"],
        "agency_id": admin.principal.agency_id,
        "password": "long enough pw",
        "clearance": "top_secret",
    }
    _is_problem(client.post("/api/users", headers=headers, json=body), 403)


def test_admin_creates_a_user_who_can_then_sign_in(client: TestClient, people: People) -> None:
    from khusela.identity import totp

    admin = people.user("root", Role.ADMIN)
    headers = bearer(client, admin)
    body = {
        "username": "lerato",
        "roles": ["operator"],
        "agency_id": admin.principal.agency_id,
        "password": "long enough pw",
    }
    created = client.post("/api/users", headers=headers, json=body)
    assert created.status_code == 201
    uri = created.json()["totp_provisioning_uri"]
    assert uri.startswith("otpauth://totp/Khusela:lerato")
    secret = uri.split("secret=")[1].split("&")[0]
    login = {"username": "lerato", "password": "long enough pw", "totp": totp.current_code(secret)}
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_rate_limit_answers_429_and_random_tokens_do_not_reset_it(
    settings: Settings, sqlite_db: Database
) -> None:
    limited = bootstrap(
        settings.model_copy(update={"rate_limit_per_minute": 5}), db=sqlite_db, bus=InProcessBus()
    )
    with TestClient(create_app(limited)) as client:
        statuses = [
            client.get("/api/me", headers={"Authorization": f"Bearer random-{i}"}).status_code
            for i in range(8)
        ]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 3


def test_rate_limit_separates_signed_in_clients(settings: Settings, sqlite_db: Database) -> None:
    limited: Platform = bootstrap(
        settings.model_copy(update={"rate_limit_per_minute": 4}), db=sqlite_db, bus=InProcessBus()
    )
    people = People(sqlite_db)
    a, b = people.user("thandi", Role.OPERATOR), people.user("sipho", Role.OPERATOR)
    with TestClient(create_app(limited)) as client:
        ha, hb = bearer(client, a), bearer(client, b)  # two requests from the shared address
        # The first call is counted against the address (the token is not known yet), the
        # next ones against the token: 4 more pass, the fifth is over its limit.
        assert [client.get("/api/me", headers=ha).status_code for _ in range(6)] == [200] * 5 + [429]
        assert client.get("/api/me", headers=hb).status_code == 200
