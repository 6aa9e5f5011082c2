"""Liveness, readiness and metrics for orchestrators and Prometheus."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep
from khusela.api.problems import problem
from khusela.core.settings import Environment

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database and the bus answer", response_model=None)
async def readyz(platform: PlatformDep) -> dict[str, object] | Response:
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(platform.db.ping)
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
    checks["bus"] = "ok" if await platform.bus.healthy() else "unavailable"
    if any(v != "ok" for v in checks.values()):
        return problem(503, "Not ready", "a dependency is unavailable", checks=checks)
    return {"status": "ok", "checks": checks}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(platform: PlatformDep, request: Request) -> Response:
    """Behind `KHUSELA_METRICS_TOKEN` when one is set: route names, counts and queue depths
    tell an attacker what the platform is busy with (an incident in progress, a bus backlog).
    Production without a token does not serve metrics at all rather than serve them open."""
    expected = platform.settings.metrics_token
    if expected is None:
        if platform.settings.environment is Environment.PRODUCTION:
            return problem(404, "Not Found", "metrics are served only with KHUSELA_METRICS_TOKEN set")
    else:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
            return problem(401, "Unauthorized", "present the metrics token as a bearer token")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
