"""Reach the real services tests need, or skip with the reason (fail under KHUSELA_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

DEFAULTS = {
    "postgres": ("KHUSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "nats": ("KHUSELA_TEST_NATS_URL", "nats://127.0.0.1:4222"),
    "redis": ("KHUSELA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    "mqtt": ("KHUSELA_TEST_MQTT_URL", "mqtt://127.0.0.1:1883"),
}


def services_required() -> bool:
    return os.environ.get("KHUSELA_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip on a laptop; fail in CI, where every service must be there."""
    if services_required():
        pytest.fail(f"{reason} (KHUSELA_REQUIRE_SERVICES=1: a missing service is a failure)")
    pytest.skip(reason)


def service_url(name: str) -> str:
    """The URL of service `name` if something listens there; otherwise skip or fail."""
    env, default = DEFAULTS[name]
    url = os.environ.get(env, default)
    parts = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    host, port = parts.hostname or "127.0.0.1", parts.port
    assert port is not None, url
    try:
        with socket.create_connection((host, port), timeout=1):
            pass
    except OSError:
        unavailable(f"{name} is not reachable at {host}:{port} (set {env})")
    return url


def shared_data(*parts: str) -> str:
    """Path of a file or folder in ../shared/data, or skip/fail when it is absent."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "shared", "data", *parts)
    if not os.path.exists(path):
        unavailable(f"shared data {'/'.join(parts)} is not present beside the project")
    return os.path.normpath(path)
