"""Settings from the environment and a TOML file, refusing unsafe production set-ups."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from khusela.core.settings import Environment, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("KHUSELA_"):
            monkeypatch.delenv(key)


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KHUSELA_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'khusela.db'}"
    assert settings.bus_url == "inprocess://"
    assert settings.redis_url is None
    assert settings.mqtt_url is None


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHUSELA_DATABASE_URL", "postgresql+psycopg://u@db/khusela")
    monkeypatch.setenv("KHUSELA_BUS_URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("KHUSELA_MQTT_URL", "mqtt://127.0.0.1:1883")
    monkeypatch.setenv("KHUSELA_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = load_settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u@db/khusela"
    assert settings.bus_url == "nats://127.0.0.1:4222"
    assert settings.mqtt_url == "mqtt://127.0.0.1:1883"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_toml_file_with_environment_taking_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "khusela.toml"
    config.write_text('bus_url = "nats://10.0.0.5:4222"\nrate_limit_per_minute = 120\nenvironment = "demo"\n')
    monkeypatch.setenv("KHUSELA_CONFIG", str(config))
    monkeypatch.setenv("KHUSELA_RATE_LIMIT_PER_MINUTE", "90")
    settings = load_settings()
    assert settings.bus_url == "nats://10.0.0.5:4222"
    assert settings.environment is Environment.DEMO
    assert settings.rate_limit_per_minute == 90


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHUSELA_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="KHUSELA_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("KHUSELA_SECRET_KEY", "a-real-secret-from-the-vault")
    assert load_settings().environment is Environment.PRODUCTION


def test_totp_can_be_switched_off_only_for_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHUSELA_REQUIRE_TOTP", "false")
    with pytest.raises(ValidationError, match="require_totp"):
        load_settings()
    monkeypatch.setenv("KHUSELA_ENVIRONMENT", "demo")
    assert load_settings().require_totp is False


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHUSELA_TOKEN_TTL_MINUTES", "0")
    with pytest.raises(ValidationError):
        load_settings()
