"""Base classes for API schemas: unknown fields are refused, not silently dropped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Incoming(BaseModel):
    """Request bodies: strict about unknown fields and stray whitespace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Outgoing(BaseModel):
    """Response bodies."""

    model_config = ConfigDict(from_attributes=True)
