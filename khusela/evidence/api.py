"""Evidence routes: cases, items (upload and verified download), custody log, legal hold.

Every read goes through `locker.visible_case` / `locker.list_cases`, so a case outside the
caller's agency is "not found", not "forbidden". Items are never updated or deleted here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile, status
from fastapi.responses import StreamingResponse

from khusela.api.deps import PlatformDep, require
from khusela.core.errors import InvalidInput
from khusela.evidence import custody, locker
from khusela.evidence.schemas import CaseCreate, CaseOut, CustodyEntryOut, CustodyOut, ItemOut, LegalHoldIn
from khusela.evidence.storage import local_store
from khusela.identity.model import Principal
from khusela.identity.policy import Action

router = APIRouter(prefix="/api/evidence", tags=["evidence"])
Reader = Annotated[Principal, Depends(require(Action.EVIDENCE_READ))]
Writer = Annotated[Principal, Depends(require(Action.EVIDENCE_WRITE))]


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseOut, summary="Open a case")
def create_case(body: CaseCreate, writer: Writer, platform: PlatformDep) -> CaseOut:
    """The case belongs to the caller's agency (which decides who may see it)."""
    if writer.agency_id is None:
        raise InvalidInput("only a member of an agency can open a case")
    with platform.db.write() as conn:
        case = locker.create_case(conn, writer.username, body.case_number, body.title, writer.agency_id)
    return CaseOut.model_validate(asdict(case))


@router.get("/cases", response_model=list[CaseOut], summary="Cases the caller may read, newest first")
def list_cases(reader: Reader, platform: PlatformDep) -> list[CaseOut]:
    with platform.db.read() as conn:
        rows = locker.list_cases(conn, reader)
    return [CaseOut.model_validate(asdict(c)) for c in rows]


@router.get("/cases/{case_id}", response_model=CaseOut, summary="One case")
def get_case(case_id: str, reader: Reader, platform: PlatformDep) -> CaseOut:
    with platform.db.read() as conn:
        case = locker.visible_case(conn, reader, case_id, Action.EVIDENCE_READ)
    return CaseOut.model_validate(asdict(case))


UPLOAD_PATH = r"/api/evidence/cases/[^/]+/items"
"""Uploads may exceed the API's usual body limit: clips are tens of megabytes."""
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
"""Buffered in memory by `BodyLimit` before the handler streams it to write-once storage."""


@router.post(
    "/cases/{case_id}/items",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemOut,
    summary="Add a file to a case (multipart upload; stored write-once)",
)
def add_item(
    case_id: str,
    writer: Writer,
    platform: PlatformDep,
    file: Annotated[UploadFile, File(description="The media file.")],
    kind: Annotated[locker.ItemKind, Form()] = locker.ItemKind.CLIP,
    captured_at: Annotated[datetime | None, Form(description="When it was captured, with zone.")] = None,
    source: Annotated[
        str | None, Form(max_length=4000, description="JSON object: camera id, clip start/end, clock offset.")
    ] = None,
) -> ItemOut:
    meta = _source(source)
    store = local_store(platform.settings.data_dir)
    with platform.db.write() as conn:
        locker.visible_case(conn, writer, case_id, Action.EVIDENCE_WRITE)
        item = locker.add_item(
            conn,
            store,
            writer.username,
            case_id,
            file.file,
            kind,
            file.content_type or "application/octet-stream",
            file.filename or "upload",
            meta,
            captured_at,
        )
    return ItemOut.model_validate(asdict(item))


@router.get("/cases/{case_id}/items", response_model=list[ItemOut], summary="A case's items")
def list_items(case_id: str, reader: Reader, platform: PlatformDep) -> list[ItemOut]:
    with platform.db.read() as conn:
        locker.visible_case(conn, reader, case_id, Action.EVIDENCE_READ)
        items = locker.items_of(conn, case_id)
    return [ItemOut.model_validate(asdict(i)) for i in items]


@router.get(
    "/cases/{case_id}/items/{item_id}/content",
    response_class=StreamingResponse,
    summary="Download an item (hash re-verified first; recorded as viewed in custody)",
)
def download_item(case_id: str, item_id: str, reader: Reader, platform: PlatformDep) -> StreamingResponse:
    store = local_store(platform.settings.data_dir)
    with platform.db.write() as conn:
        locker.visible_case(conn, reader, case_id, Action.EVIDENCE_READ)
        item = locker.get_item(conn, case_id, item_id)
        body: Iterator[bytes] = store.chunks(item.sha256)  # verifies before the first byte
        locker.record_view(conn, reader.username, item)
    headers = {
        "Content-Length": str(item.size),
        "Digest": f"sha-256={item.sha256}",
        "Content-Disposition": f'attachment; filename="{item.sha256}"',
    }
    return StreamingResponse(body, media_type=item.media_type, headers=headers)


@router.get("/cases/{case_id}/custody", response_model=CustodyOut, summary="The chain of custody, verified")
def custody_log(case_id: str, reader: Reader, platform: PlatformDep) -> CustodyOut:
    with platform.db.snapshot() as conn:
        locker.visible_case(conn, reader, case_id, Action.EVIDENCE_READ)
        check = custody.verify_case(conn, case_id)
        entries = custody.entries(conn, case_id)
    return CustodyOut(
        ok=check.ok,
        checked=check.checked,
        first_bad_seq=check.first_bad_seq,
        reason=check.reason,
        entries=[CustodyEntryOut.model_validate(asdict(e)) for e in entries],
    )


@router.put("/cases/{case_id}/legal-hold", response_model=CaseOut, summary="Place or lift a legal hold")
def legal_hold(case_id: str, body: LegalHoldIn, writer: Writer, platform: PlatformDep) -> CaseOut:
    with platform.db.write() as conn:
        locker.visible_case(conn, writer, case_id, Action.EVIDENCE_WRITE)
        case = locker.set_legal_hold(conn, writer.username, case_id, body.hold, body.reason)
    return CaseOut.model_validate(asdict(case))


def _source(raw: str | None) -> dict[str, Any] | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidInput("source must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidInput("source must be a JSON object")
    return value
