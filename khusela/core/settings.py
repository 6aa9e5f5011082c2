"""Settings from `KHUSELA_*` environment variables and an optional TOML file.

One `Settings` object configures the server, the CLI and the workers alike, so that a
command run beside a server always talks to the same database and bus.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_SECRET = "change-me-development-only"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    """Where the platform runs; decides which unsafe conveniences are allowed."""

    DEVELOPMENT = "development"
    DEMO = "demo"
    TEST = "test"
    PRODUCTION = "production"


def _config_file() -> Path | None:
    path = os.environ.get("KHUSELA_CONFIG")
    return Path(path) if path else None


class Settings(BaseSettings):
    """Every setting of the platform, each with what it is for."""

    model_config = SettingsConfigDict(env_prefix="KHUSELA_", extra="ignore")

    environment: Environment = Field(
        Environment.DEVELOPMENT,
        description="development, demo, test or production; production refuses unsafe defaults.",
    )
    data_dir: Path = Field(
        Path("./khusela-data"),
        description="Folder for the embedded database, evidence files and other local state.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default is SQLite (WAL) at <data_dir>/khusela.db. "
        "postgresql+psycopg://… selects PostgreSQL.",
    )
    bus_url: str = Field(
        "inprocess://",
        description="Event bus: inprocess:// (default) or nats://host:port for NATS JetStream.",
    )
    mqtt_url: str | None = Field(
        None, description="MQTT broker for panic devices, e.g. mqtt://127.0.0.1:1883."
    )
    redis_url: str | None = Field(
        None, description="Redis for shared rate limits and caches; in-process when unset."
    )
    secret_key: str = Field(
        DEFAULT_SECRET, description="Server secret (token pepper); must be set in production."
    )
    metrics_token: str | None = Field(
        None,
        description="Bearer token Prometheus presents for /metrics. Unset: /metrics is open in "
        "development, demo and test, and not served in production.",
    )
    require_totp: bool = Field(
        True,
        description="Require TOTP for staff roles. May be switched off only in the demo environment.",
    )
    token_ttl_minutes: int = Field(
        12 * 60,
        ge=1,
        le=7 * 24 * 60,
        description="Lifetime of an access token (one shift by default).",
    )
    resident_token_ttl_minutes: int = Field(
        30 * 24 * 60,
        ge=1,
        le=365 * 24 * 60,
        description="Lifetime of a resident's token: a resident stays signed in on their own phone, "
        "so that the panic button works without a fresh SMS code.",
    )
    rate_limit_per_minute: int = Field(
        600, ge=1, description="Requests per minute allowed per client (token or address)."
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest request body accepted.")
    evidence_max_upload_mb: int = Field(
        4096,
        ge=1,
        description="Largest evidence upload, in MiB (a CCTV export can be gigabytes). The body is "
        "streamed to the evidence store's disk and hashed on the way, never held in memory.",
    )
    log_level: str = Field("INFO", description="Log level of the JSON logs.")
    map_tile_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+/\S*\{z\}\S*$",
        description="Base-map tiles for the console, e.g. https://tiles.example.org/{z}/{x}/{y}.png. "
        "Unset: the console draws its offline vector base (boundaries, stations) instead.",
    )
    map_tile_attribution: str | None = Field(
        None, max_length=300, description="The tile provider's attribution, shown on the map."
    )
    map_center: tuple[float, float] = Field(
        (-26.1, 28.1), description="Where the console's map opens: latitude, longitude."
    )
    map_zoom: int = Field(9, ge=1, le=18, description="The console map's opening zoom level.")
    cctv_workers: bool = Field(
        False,
        description="Run a worker process per registered camera on this node (analytics, health, "
        "live view). Switch on for one node only.",
    )
    cctv_watchlist: Path | None = Field(
        None, description="CSV of wanted plates (plate, reason, reference) the camera workers match."
    )
    cctv_recording_budget_gb: float = Field(
        500.0,
        gt=0,
        description="Disk for camera recordings; past it the oldest footage goes first, never held footage.",
    )
    cctv_detect: str = Field(
        "person", pattern=r"^(person|plate)(,(person|plate))*$", description="What the workers detect."
    )
    cyber_syslog_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Receive syslog (UDP and TCP) on this port for the SOC; unset: no listener. "
        "Run it on one node.",
    )
    cyber_syslog_host: str = Field("0.0.0.0", description="Address the syslog listener binds.")  # noqa: S104
    cyber_rules: list[Path] = Field(
        default_factory=list,
        description="Sigma rule folders to load beside Khusela's own (e.g. a SigmaHQ rules/ checkout).",
    )
    cyber_auto_respond: list[str] = Field(
        default_factory=list,
        description="Rule ids or correlation kinds (brute_force, port_scan …) whose alerts block the "
        "source IP at once, without waiting for an analyst.",
    )
    cyber_block_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 365,
        description="How long a response action lasts unless the analyst says otherwise.",
    )
    cyber_protected: list[str] = Field(
        default_factory=lambda: ["gov.za"],
        description="Networks and domains a response action may never block (the government's own).",
    )
    cyber_response_dir: Path | None = Field(
        None,
        description="Where the nftables script, blocklist, RPZ zone and quarantine list are written "
        "(default: <data_dir>/cyber-response).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats the TOML file named by `KHUSELA_CONFIG`, which beats defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Self:
        if not self.require_totp and self.environment not in (Environment.DEMO, Environment.TEST):
            raise ValueError("require_totp may be switched off only in the demo or test environment")
        if self.environment is Environment.PRODUCTION and self.secret_key == DEFAULT_SECRET:
            raise ValueError("KHUSELA_SECRET_KEY must be set in production")
        return self

    @property
    def map_tile_origin(self) -> str | None:
        """The tile server's origin (scheme://host[:port]), which the CSP must allow images from."""
        if not self.map_tile_url:
            return None
        scheme, rest = self.map_tile_url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'khusela.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings now (not at import time), so tests and CLI options can change them."""
    return Settings(**overrides)  # type: ignore[arg-type]
