"""Evidence routes: cases, items (upload and verified download), custody log, legal hold.

Every read goes through `locker.visible_case` / `locker.list_cases`, so a case outside the
caller's agency is "not found", not "forbidden". Items are never updated or deleted here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from khusela.api.deps import PlatformDep, require
from khusela.bootstrap import Platform
from khusela.core.errors import InvalidInput, KhuselaError
from khusela.evidence import custody, locker, upload
from khusela.evidence.schemas import (
    CaseCreate,
    CaseOut,
    CustodyEntryOut,
    CustodyOut,
    ItemForm,
    ItemOut,
    LegalHoldIn,
)
from khusela.evidence.storage import StoredMedia, TooLarge, local_store
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
"""Streamed past `BodyLimit` (see `api.app`): `add_item` enforces its own, larger limit."""
MIB = 1024 * 1024
_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": ItemForm.upload_schema()}},
    }
}


class UploadInterrupted(KhuselaError):
    """The client went away mid-upload; nothing of it was kept."""

    title = "Upload interrupted"


@router.post(
    "/cases/{case_id}/items",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemOut,
    summary="Add a file to a case (multipart upload; streamed to disk, stored write-once)",
    openapi_extra=_MULTIPART_BODY,
)
async def add_item(case_id: str, request: Request, writer: Writer, platform: PlatformDep) -> ItemOut:
    """The body is streamed into the store (never held in memory) and filed only once it is
    whole and valid; an over-limit body is a 413 the moment it passes the limit, and an
    upload that fails or is cut off leaves neither a file nor a row."""
    limit = platform.settings.evidence_max_upload_mb * MIB
    _refuse_declared_oversize(request, limit)
    await run_in_threadpool(_writable_case, platform, writer, case_id)
    stored, form, received = await _receive(request, platform, limit)
    item = await run_in_threadpool(_record, platform, writer, case_id, stored, form, received)
    return ItemOut.model_validate(asdict(item))


def _refuse_declared_oversize(request: Request, limit: int) -> None:
    """Refuse before reading a byte when the client says the body is too large."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge(f"uploads are limited to {limit} bytes")


def _writable_case(platform: Platform, writer: Principal, case_id: str) -> None:
    """404/403 before the upload is received, not after gigabytes of it."""
    with platform.db.read() as conn:
        locker.visible_case(conn, writer, case_id, Action.EVIDENCE_WRITE)


async def _receive(
    request: Request, platform: Platform, limit: int
) -> tuple[StoredMedia, ItemForm, upload.Received]:
    """Stream the body into the store, check the fields, then file the bytes write-once."""
    store = local_store(platform.settings.data_dir)
    content_type = request.headers.get("content-type", "")
    with await run_in_threadpool(store.stage, limit) as staged:
        try:
            received = await upload.receive(content_type, request.stream(), staged, limit)
        except ClientDisconnect:
            raise UploadInterrupted("the client went away before the upload was complete") from None
        form = _form(received)
        locker.check_item_fields(received.filename or "upload", form.captured_at)
        if staged.size == 0:
            raise InvalidInput("an evidence file cannot be empty")
        stored = await run_in_threadpool(staged.keep)
    return stored, form, received


def _form(received: upload.Received) -> ItemForm:
    """The text fields as FastAPI would read them (empty means absent), errors included."""
    present = {name: value for name, value in received.fields.items() if value}
    try:
        return ItemForm.model_validate(present)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


def _record(
    platform: Platform,
    writer: Principal,
    case_id: str,
    stored: StoredMedia,
    form: ItemForm,
    received: upload.Received,
) -> locker.Item:
    with platform.db.write() as conn:
        locker.visible_case(conn, writer, case_id, Action.EVIDENCE_WRITE)
        return locker.record_item(
            conn,
            writer.username,
            case_id,
            stored,
            form.kind,
            received.content_type or "application/octet-stream",
            received.filename or "upload",
            _source(form.source),
            form.captured_at,
        )


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
