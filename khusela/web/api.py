"""What the console needs besides the modules' own APIs: its configuration (map, timer
targets) and the offline vector base map (boundaries, stations, H3 grid)."""

from __future__ import annotations

import gzip
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Outgoing
from khusela.bootstrap import Platform
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.panic.escalation import EscalationTimer, Targets
from khusela.web import basemap

router = APIRouter(prefix="/api", tags=["console"])
SignedIn = Annotated[Principal, Depends(require(Action.ME_READ))]
"""Public geography and display settings: any signed-in user may read them."""


class MapConfig(Outgoing):
    tile_url: str | None = Field(description="Tile URL template; null: draw the offline vector base.")
    tile_attribution: str | None
    center: tuple[float, float]
    zoom: int
    max_zoom: int


class TargetsOut(Outgoing):
    acknowledge_seconds: int = Field(description="An alert not acknowledged within this escalates.")
    on_scene_seconds: dict[str, int] = Field(description="Priority (1-4) → seconds to a unit on scene.")


class ConsoleConfig(Outgoing):
    map: MapConfig
    targets: TargetsOut


@router.get("/console/config", response_model=ConsoleConfig, summary="The console's map and timer settings")
def console_config(platform: PlatformDep, _user: SignedIn) -> ConsoleConfig:
    settings = platform.settings
    targets = _targets(platform)
    return ConsoleConfig(
        map=MapConfig(
            tile_url=settings.map_tile_url,
            tile_attribution=settings.map_tile_attribution,
            center=settings.map_center,
            zoom=settings.map_zoom,
            max_zoom=19,
        ),
        targets=TargetsOut(
            acknowledge_seconds=targets.ack_seconds,
            on_scene_seconds={str(p): s for p, s in sorted(targets.on_scene_seconds.items())},
        ),
    )


def _targets(platform: Platform) -> Targets:
    """The targets this node's escalation timer counts against, so the console's timers
    and the escalations always agree."""
    timer = next((s for s in platform.background if isinstance(s, EscalationTimer)), None)
    return timer.targets if timer is not None else Targets.from_env()


@cache
def _gzipped(layer: str) -> tuple[bytes, bytes, str]:
    body = basemap.base_layers() if layer == "base" else basemap.grid_layer()
    return body, gzip.compress(body, 6, mtime=0), basemap.etag(body)


def _geojson(request: Request, layer: str) -> Response:
    body, compressed, tag = _gzipped(layer)
    headers = {"ETag": tag, "Cache-Control": "private, max-age=3600", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            compressed, media_type="application/geo+json", headers={**headers, "Content-Encoding": "gzip"}
        )
    return Response(body, media_type="application/geo+json", headers=headers)


GEOJSON: dict[int | str, dict[str, Any]] = {200: {"content": {"application/geo+json": {}}}}


@router.get(
    "/map/base", response_class=Response, responses=GEOJSON, summary="Municipal boundaries and stations"
)
def map_base(request: Request, _user: SignedIn) -> Response:
    """GeoJSON: `layer: municipality` (MultiPolygon/Polygon; code, name, kind) and
    `layer: station` (Point; name, municipality_code)."""
    return _geojson(request, "base")


@router.get("/map/grid", response_class=Response, responses=GEOJSON, summary="The H3 grid (res 7)")
def map_grid(request: Request, _user: SignedIn) -> Response:
    """GeoJSON: `layer: cell` polygons (cell, municipality_code) covering the province."""
    return _geojson(request, "grid")
