"""The FastAPI application: middleware, problem+json errors and every module's router."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from khusela import __version__
from khusela.api import health, problems
from khusela.api.feed import router as feed_router
from khusela.api.middleware import BodyLimit, RateLimit, RequestContext
from khusela.audit.api import router as audit_router
from khusela.bootstrap import Platform
from khusela.cctv import api as cctv_api
from khusela.cctv.events_api import router as cctv_events_router
from khusela.cctv.recording.api import router as cctv_recording_router
from khusela.cyber.soc import api as cyber_api
from khusela.cyber.soc import phish_reports
from khusela.evidence import api as evidence_api
from khusela.identity.api import router as identity_router
from khusela.intel import api as intel_api
from khusela.intel.api_federation import MAX_ENVELOPE_BYTES as INTEL_MAX_ENVELOPE
from khusela.intel.api_federation import router as intel_federation_router
from khusela.intel.api_graph import router as intel_graph_router
from khusela.panic.api import router as panic_router
from khusela.panic.channels_api import router as panic_channels_router
from khusela.panic.dispatch_api import router as panic_dispatch_router
from khusela.panic.exchange.api import router as panic_exchange_router
from khusela.panic.partners.api import router as panic_partners_router
from khusela.panic.units_api import router as panic_units_router
from khusela.partners import api as partners_api
from khusela.partners import media as partners_media
from khusela.partners.api_community import router as partners_community_router
from khusela.partners.api_tips import router as partners_tips_router
from khusela.risk import api as risk_api
from khusela.web.api import router as console_router
from khusela.web.routes import router as web_router
from khusela.web.routes import static_files


def create_app(platform: Platform) -> FastAPI:
    """Build the app around an assembled platform (see `khusela.bootstrap`)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    app = FastAPI(
        title="Khusela",
        version=__version__,
        description="Public-safety operations platform: panic alerts and dispatch, CCTV, "
        "cyber defence, intelligence sharing, risk mapping and partnerships.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    problems.install(app)
    routers = (
        health.router,
        identity_router,
        audit_router,
        panic_router,
        panic_dispatch_router,
        panic_units_router,
        panic_channels_router,
        panic_exchange_router,
        panic_partners_router,
        cctv_api.router,
        cctv_events_router,
        cctv_recording_router,
        evidence_api.router,
        intel_api.router,
        intel_graph_router,
        intel_federation_router,
        cyber_api.router,
        partners_api.router,
        partners_community_router,
        partners_tips_router,
        risk_api.router,
        feed_router,
        console_router,
        web_router,
    )
    for router in routers:
        app.include_router(router)
    app.mount("/static", static_files(), name="static")
    # The last added runs first: RequestContext wraps RateLimit, which wraps BodyLimit, so that
    # every response, even a 413 or 429, carries a request id and is counted.
    app.add_middleware(
        BodyLimit,
        max_bytes=platform.settings.max_body_bytes,
        larger={
            re.escape(cctv_api.IMPORT_PATH): cctv_api.MAX_CSV_BYTES,
            re.escape(intel_api.IMPORT_PATH): intel_api.MAX_IMPORT_BYTES,
            re.escape("/api/intel/federation/envelopes"): INTEL_MAX_ENVELOPE,
            re.escape(cyber_api.INGEST_PATH): cyber_api.MAX_INGEST_BYTES,
            re.escape(cyber_api.PHISH_PATH): phish_reports.MAX_EML_BYTES,
            partners_api.UPLOAD_PATHS: partners_media.MAX_DOCUMENT_BYTES,
        },
        streamed=(evidence_api.UPLOAD_PATH,),
    )
    app.add_middleware(
        RateLimit,
        limiter=platform.rate_limiter,
        known_token=lambda token: platform.authenticator.cached(token) is not None,
    )
    tiles = platform.settings.map_tile_origin
    app.add_middleware(RequestContext, image_origins=(tiles,) if tiles else ())
    return app
