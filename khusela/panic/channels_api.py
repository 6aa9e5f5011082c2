"""Panic routes: channels_api."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/panic", tags=["panic"])
