"""Panic routes: dispatch_api."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/panic", tags=["panic"])
