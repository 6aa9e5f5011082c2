"""Serve the console and the resident panic page. Everything they need ships in the
package: no CDN and no external fonts at run time, so both work on an isolated network."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PANIC = STATIC / "panic"
router = APIRouter(include_in_schema=False)

NO_CACHE = {"Cache-Control": "no-cache"}
"""Revalidate every time: a resident must never be stuck on an old page or worker."""


@router.get("/")
def console() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=NO_CACHE)


@router.get("/responder")
def responder_page() -> FileResponse:
    """The responder's view (phone-sized): the unit's assignment, status buttons, location."""
    return FileResponse(STATIC / "responder.html", media_type="text/html", headers=NO_CACHE)


@router.get("/panic")
def panic_page() -> FileResponse:
    """The resident's panic page (an installable PWA; its assets are under /static/panic/)."""
    return FileResponse(PANIC / "index.html", media_type="text/html", headers=NO_CACHE)


@router.get("/panic/sw.js")
def panic_service_worker() -> FileResponse:
    """The page's service worker. Its own folder is /panic/, so the header widens its
    allowed scope to /panic, which covers the page itself."""
    return FileResponse(
        PANIC / "sw.js",
        media_type="text/javascript",
        headers={**NO_CACHE, "Service-Worker-Allowed": "/panic"},
    )


@router.get("/panic/manifest.webmanifest")
def panic_manifest() -> FileResponse:
    return FileResponse(
        PANIC / "manifest.webmanifest", media_type="application/manifest+json", headers=NO_CACHE
    )


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)
