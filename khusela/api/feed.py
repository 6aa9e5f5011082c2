"""The live feed: every change a console may see, pushed as it happens."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["feed"])
