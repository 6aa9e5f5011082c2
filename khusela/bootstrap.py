"""The one place that chooses adapters from settings and wires the platform together.

`Platform` is what the API, the CLI and the workers share: the database, the bus with its
outbox relay, the rate limiter, the SMS port and the authenticator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import structlog

from khusela.api.ratelimit import RateLimiter, create_rate_limiter
from khusela.bus.factory import create_bus
from khusela.bus.outbox import OutboxRelay
from khusela.bus.ports import EventBus
from khusela.core.gazetteer import BundledGazetteer, Gazetteer
from khusela.core.settings import Environment, Settings
from khusela.identity.adapters.sms_log import LogSmsSender, UnconfiguredSmsSender
from khusela.identity.authenticator import Authenticator
from khusela.identity.ports import SmsSender
from khusela.identity.sessions import LoginPolicy
from khusela.store.database import Database

log = structlog.get_logger(__name__)


class Background(Protocol):
    """Work that runs beside the API for the platform's lifetime (listeners, timers)."""

    async def start(self) -> None:
        """Begin; return once running."""
        ...

    async def stop(self) -> None:
        """Stop and release resources."""
        ...


@dataclass
class Platform:
    settings: Settings
    db: Database
    bus: EventBus
    relay: OutboxRelay
    rate_limiter: RateLimiter
    sms: SmsSender
    authenticator: Authenticator
    gazetteer: Gazetteer = field(default_factory=BundledGazetteer)
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    background: list[Background] = field(default_factory=list)

    async def start(self) -> None:
        """Start background work: publishing the outbox, then each module's services."""
        await self.relay.start()
        for service in self.background:
            await service.start()

    async def stop(self) -> None:
        """Stop everything, newest first. A service that does not stop within
        `STOP_TIMEOUT_SECONDS` is abandoned with a log line: shutdown must not hang (nothing
        acknowledged is lost by it — events wait in the outbox)."""
        for service in reversed(self.background):
            await _bounded(service.stop(), type(service).__name__)
        await _bounded(self.relay.stop(), "OutboxRelay")
        await _bounded(self.bus.close(), "EventBus")
        await _bounded(self.rate_limiter.close(), "RateLimiter")


STOP_TIMEOUT_SECONDS = 5.0


async def _bounded(stopping: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await asyncio.wait_for(stopping, STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        log.error("platform.stop_timed_out", service=name, seconds=STOP_TIMEOUT_SECONDS)


def build_database(settings: Settings) -> Database:
    return Database(settings.resolved_database_url)


def bootstrap(settings: Settings, *, db: Database | None = None, bus: EventBus | None = None) -> Platform:
    """Assemble the platform; tests pass their own database or bus."""
    db = db or build_database(settings)
    bus = bus or create_bus(settings.bus_url)
    platform = Platform(
        settings=settings,
        db=db,
        bus=bus,
        relay=OutboxRelay(db, bus),
        rate_limiter=create_rate_limiter(settings.redis_url, settings.rate_limit_per_minute),
        sms=UnconfiguredSmsSender() if settings.environment is Environment.PRODUCTION else LogSmsSender(),
        authenticator=Authenticator(db, settings.secret_key),
        login_policy=LoginPolicy(
            require_totp=settings.require_totp,
            token_ttl=timedelta(minutes=settings.token_ttl_minutes),
            resident_token_ttl=timedelta(minutes=settings.resident_token_ttl_minutes),
            pepper=settings.secret_key,
        ),
    )
    from khusela.panic.services import panic_background

    platform.background.extend(panic_background(platform))
    from khusela.cctv import hits  # watchlisted plates open alerts in the panic queue

    platform.background.extend(hits.services(platform))
    from khusela.cctv import workers  # camera workers, when KHUSELA_CCTV_WORKERS=true
    from khusela.cctv.recording import service as recording  # recorders and retention, likewise

    platform.background.extend(workers.services(platform))
    platform.background.extend(recording.services(platform))
    from khusela.cyber.soc import pipeline as cyber_pipeline  # SOC ingest, detection, response files

    platform.background.extend(cyber_pipeline.services(platform))
    from khusela.risk import live as risk_live  # panic, CCTV and cyber events → risk incidents

    platform.background.extend(risk_live.services(platform))
    from khusela.partners import services as partners  # community alerts: texts and pushes

    platform.background.extend(partners.services(platform))
    if settings.environment is Environment.DEMO:
        from khusela.demo.fleet import DemoFleet

        platform.background.append(DemoFleet(db, platform.gazetteer))
    return platform
