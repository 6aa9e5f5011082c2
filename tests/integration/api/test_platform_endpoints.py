"""Health, readiness, metrics, OpenAPI, request ids, security headers and log hygiene."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from khusela.api.app import create_app
from khusela.bootstrap import bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.core.settings import Settings
from khusela.identity.model import Role
from khusela.store.database import Database
from tests.conftest import People, bearer


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "bus": "ok"}


def test_not_ready_when_the_bus_is_down(settings: Settings, sqlite_db: Database) -> None:
    # With the default connect timeout: the background services queued behind the first
    # failed attempt fail at once, so a node started while NATS is down answers in seconds.
    platform = bootstrap(settings, db=sqlite_db, bus=NatsBus("nats://127.0.0.1:1"))
    started = time.monotonic()
    with TestClient(create_app(platform)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert time.monotonic() - started < 15
    assert ready.json()["checks"]["bus"] == "unavailable"
    assert ready.json()["checks"]["database"] == "ok"


def test_metrics_count_requests(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'khusela_http_requests_total{method="GET",route="/healthz",status="200"}' in text


def test_metrics_are_behind_their_token_when_one_is_set(tmp_path: Path, sqlite_db: Database) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, metrics_token="scrape-me-please")
    with TestClient(create_app(bootstrap(settings, db=sqlite_db, bus=InProcessBus()))) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic scrape-me-please"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert "khusela_http_requests_total" not in refused.text
        scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert scraped.status_code == 200
        assert "khusela_http_requests_total" in scraped.text


def test_production_without_a_metrics_token_does_not_serve_metrics(
    tmp_path: Path, sqlite_db: Database
) -> None:
    settings = Settings(
        environment="production", data_dir=tmp_path, secret_key="a-production-secret-of-length"
    )
    with TestClient(create_app(bootstrap(settings, db=sqlite_db, bus=InProcessBus()))) as client:
        hidden = client.get("/metrics")
    assert hidden.status_code == 404
    assert "KHUSELA_METRICS_TOKEN" in hidden.json()["detail"]


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/auth/login" in spec["paths"]
    assert "/api/me" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc123"}).headers["x-request-id"] == "abc123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in headers["content-security-policy"]


def test_console_is_served_without_external_assets(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Sign in" in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text
    for asset in ("/static/build/console.js", "/static/build/console.css", "/static/build/responder.js"):
        assert client.get(asset).status_code == 200, f"{asset} missing: run scripts/build-console"
    bundle = client.get("/static/build/console.css").text
    assert "url(http" not in bundle, "the stylesheet loads nothing from another host"


def test_logs_hold_no_secrets_or_personal_data(
    client: TestClient, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    from khusela.core.logging import configure_logging

    configure_logging("INFO")
    person = people.user("thandi", Role.OPERATOR)
    resident = people.user("nomsa", Role.RESIDENT, phone="0825550101")
    headers = bearer(client, person)
    client.get("/api/me", headers=headers)
    client.post("/api/auth/login", json={"username": "thandi", "password": "a-wrong-password"})
    client.post("/api/auth/resident/code", json={"phone": "0825550101"})
    logs = capsys.readouterr().err
    assert "http.request" in logs
    token = headers["Authorization"].split()[1]
    for secret in (person.password, "a-wrong-password", token, "+27825550101", "0825550101"):
        assert secret not in logs
    assert person.totp_secret
    assert person.totp_secret not in logs
    assert resident.username == "nomsa"


def test_totp_code_cannot_be_replayed(client: TestClient, people: People) -> None:
    person = people.user("thandi", Role.OPERATOR)
    body = person.login_body()
    assert client.post("/api/auth/login", json=body).status_code == 200
    assert client.post("/api/auth/login", json=body).status_code == 401
