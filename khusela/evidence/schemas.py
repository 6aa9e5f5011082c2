"""API bodies of the evidence locker: `…Create` / `…In` from `Incoming`, `…Out` from `Outgoing`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from khusela.api.schemas import Incoming, Outgoing
from khusela.evidence.locker import ItemKind


class CaseCreate(Incoming):
    case_number: str = Field(
        min_length=5, max_length=40, description="SAPS case number, e.g. CAS 123/11/2026."
    )
    title: str = Field(min_length=1, max_length=200, description="What the case is about; no personal data.")


class LegalHoldIn(Incoming):
    hold: bool = Field(description="True places the hold, false lifts it.")
    reason: str = Field("", max_length=300, description="Why (recorded in the chain of custody).")


class ItemForm(BaseModel):
    """The text fields of an item upload (multipart/form-data, beside the part named `file`).

    Not `Incoming`: as with any HTML form, fields the API does not know are ignored."""

    kind: ItemKind = ItemKind.CLIP
    captured_at: datetime | None = Field(None, description="When it was captured, with zone.")
    source: str | None = Field(
        None, max_length=4000, description="JSON object: camera id, clip start/end, clock offset."
    )

    @classmethod
    def upload_schema(cls) -> dict[str, Any]:
        """The OpenAPI schema of the whole multipart body: these fields and the file."""
        properties = dict(cls.model_json_schema()["properties"])
        properties["kind"] = {"type": "string", "enum": [k.value for k in ItemKind], "default": "clip"}
        file = {"type": "string", "format": "binary", "description": "The media file."}
        return {"type": "object", "required": ["file"], "properties": {"file": file, **properties}}


class CaseOut(Outgoing):
    id: str
    case_number: str
    title: str
    agency_id: str
    created_by: str
    created_at: datetime
    legal_hold: bool
    custody_seq: int
    custody_head: str


class ItemOut(Outgoing):
    id: str
    case_id: str
    kind: str
    sha256: str
    size: int
    media_type: str
    original_name: str
    source: dict[str, Any] | None
    captured_at: datetime | None
    added_by: str
    added_at: datetime


class CustodyEntryOut(Outgoing):
    seq: int
    at: datetime
    actor: str
    action: str
    item_id: str | None
    details: str
    prev_hash: str
    hash: str


class CustodyOut(Outgoing):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str
    entries: list[CustodyEntryOut]
