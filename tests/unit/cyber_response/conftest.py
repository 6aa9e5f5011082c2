"""Shared fixtures: a fixed clock reading and a short way to write an approved block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from khusela.cyber.response import ActiveBlock
from khusela.cyber.response.model import Kind

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def block(
    action_id: str,
    kind: Kind,
    target: str,
    *,
    hours: float | None = 1,
    reason: str = "approved by the duty analyst",
) -> ActiveBlock:
    """An active block that lapses `hours` after `NOW` (never, for None; already, for <= 0)."""
    expires = None if hours is None else NOW + timedelta(hours=hours)
    return ActiveBlock(action_id, kind, target, expires, reason, approved_by="analyst-7")
