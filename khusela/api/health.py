"""Liveness, readiness and metrics for orchestrators and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep
from khusela.api.problems import problem

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
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
