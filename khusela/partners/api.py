"""Partners routes: agreements, commitments and progress, the oversight dashboard, quarterly
reports, write-once files, and joint operations.

Reads answer "not found" for anything outside the caller's reach, never "forbidden" (no hint
that it exists). Uploads are raw bodies (``Content-Type: application/pdf`` or an image type),
stored write-once and addressed by SHA-256.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from khusela.api.deps import PlatformDep, require
from khusela.core.clock import SystemClock
from khusela.core.errors import InvalidInput
from khusela.evidence.storage import StoredMedia
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.intel.markings import Marking
from khusela.partners import agreements, media, operations, reports
from khusela.partners.agreements import AgreementSpec, CommitmentSpec
from khusela.partners.indicators import SOURCES
from khusela.partners.model import OperationStatus, Quarter
from khusela.partners.operations import OperationPlan
from khusela.partners.schemas import (
    AgreementDetailOut,
    AgreementIn,
    AgreementOut,
    AgreementStatusIn,
    AreaIn,
    AreaOut,
    CommitmentIn,
    CommitmentOut,
    DashboardOut,
    DebriefIn,
    LinkIn,
    OperationIn,
    OperationOut,
    OperationSummaryOut,
    OutcomeIn,
    ProgressIn,
    ProgressOut,
    StoredFileOut,
    TimelineEntryOut,
)

router = APIRouter(prefix="/api/partners", tags=["partners"])
Reader = Annotated[Principal, Depends(require(Action.PARTNERS_READ))]
Writer = Annotated[Principal, Depends(require(Action.PARTNERS_WRITE))]
UPLOAD_PATHS = r"/api/partners/(files|agreements/[^/]+/document|patrols/[^/]+/photos)"
"""Routes allowed bodies up to `media.MAX_DOCUMENT_BYTES` (see `api.app`)."""
_PDF_BODY = {
    "requestBody": {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
}


def _now() -> Any:
    return SystemClock().now()


async def read_upload(request: Request, allowed: frozenset[str], limit: int) -> tuple[bytes, str]:
    """The raw body and its media type, refused unless the type is allowed and it fits."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in allowed:
        raise InvalidInput(f"send the file as one of: {', '.join(sorted(allowed))}")
    body = await request.body()
    if not body:
        raise InvalidInput("the file is empty")
    if len(body) > limit:
        raise InvalidInput(f"files are limited to {limit // (1024 * 1024)} MiB")
    return body, content_type


def store(platform: Any, body: bytes) -> StoredMedia:
    return media.partners_store(platform.settings.data_dir).put(io.BytesIO(body))


# --- agreements ------------------------------------------------------------------------------


@router.get("/agreements", response_model=list[AgreementOut], summary="Agreements the caller may see")
def list_agreements(viewer: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    """Parties' members see their agreements; officials those of their jurisdiction; oversight all."""
    with platform.db.read() as conn:
        return agreements.list_agreements(conn, viewer)


@router.post(
    "/agreements",
    response_model=AgreementOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an agreement",
)
def create_agreement(body: AgreementIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """The caller's agency must be one of the parties. Upload the signed document afterwards."""
    spec = AgreementSpec(**body.model_dump(exclude={"party_ids"}), party_ids=tuple(body.party_ids))
    with platform.db.write() as conn:
        created = agreements.create(conn, actor, spec, _now())
        created["parties"] = agreements.parties_of(conn, created["id"])
    return created


@router.get(
    "/agreements/{agreement_id}",
    response_model=AgreementDetailOut,
    summary="An agreement with its areas and commitments",
)
def get_agreement(agreement_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.read() as conn:
        return agreements.detail(conn, viewer, agreement_id, _now())


@router.post(
    "/agreements/{agreement_id}/status",
    response_model=AgreementOut,
    summary="Activate, suspend or end an agreement",
)
def set_agreement_status(
    agreement_id: str, body: AgreementStatusIn, actor: Writer, platform: PlatformDep
) -> dict[str, Any]:
    """Only an *active* agreement (signed, not ended) feeds the rules elsewhere (`partners.rules`)."""
    with platform.db.write() as conn:
        row = agreements.set_status(conn, actor, agreement_id, body.status, body.signed_on, _now())
        row["parties"] = agreements.parties_of(conn, agreement_id)
    return row


@router.post(
    "/agreements/{agreement_id}/document",
    response_model=AgreementOut,
    summary="Store the signed document (PDF, write-once)",
    openapi_extra=_PDF_BODY,
)
async def upload_document(
    agreement_id: str,
    request: Request,
    actor: Writer,
    platform: PlatformDep,
    name: Annotated[
        str, Query(min_length=1, max_length=200, description="File name to show")
    ] = "agreement.pdf",
) -> dict[str, Any]:
    """Stored once: a second upload is refused (409); record an amended agreement instead."""
    body, _ = await read_upload(request, media.DOCUMENT_TYPES, media.MAX_DOCUMENT_BYTES)
    from starlette.concurrency import run_in_threadpool

    def write() -> dict[str, Any]:
        with platform.db.read() as conn:
            agreements.writable(conn, actor, agreement_id)
        stored = store(platform, body)
        with platform.db.write() as conn:
            row = agreements.attach_document(conn, actor, agreement_id, stored.sha256, name, _now())
            row["parties"] = agreements.parties_of(conn, agreement_id)
        return row

    return await run_in_threadpool(write)


@router.get(
    "/agreements/{agreement_id}/document",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="Download the signed document (verified against its SHA-256)",
)
def download_document(agreement_id: str, viewer: Reader, platform: PlatformDep) -> StreamingResponse:
    with platform.db.read() as conn:
        sha, name = agreements.document_of(conn, viewer, agreement_id)
    chunks: Iterator[bytes] = media.partners_store(platform.settings.data_dir).chunks(sha)
    safe = "".join(c for c in name if c.isalnum() or c in "._- ")[:100] or "agreement.pdf"
    return StreamingResponse(
        chunks,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@router.post(
    "/agreements/{agreement_id}/areas",
    response_model=AreaOut,
    status_code=201,
    summary="Add an area of collaboration",
)
def add_area(agreement_id: str, body: AreaIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        return agreements.add_area(conn, actor, agreement_id, body.kind, body.title, body.description)


@router.post(
    "/areas/{area_id}/commitments", response_model=CommitmentOut, status_code=201, summary="Add a commitment"
)
def add_commitment(area_id: str, body: CommitmentIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """What, who answers for it (a party), when, and how it is measured (indicator, target, source)."""
    with platform.db.write() as conn:
        return agreements.add_commitment(conn, actor, area_id, CommitmentSpec(**body.model_dump()), _now())


@router.get(
    "/commitments/{commitment_id}/progress",
    response_model=list[ProgressOut],
    summary="Progress reports, oldest first",
)
def progress_history(commitment_id: str, viewer: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return agreements.progress_history(conn, viewer, commitment_id)


@router.post(
    "/commitments/{commitment_id}/progress",
    response_model=CommitmentOut,
    status_code=201,
    summary="Report progress",
)
def report_progress(
    commitment_id: str, body: ProgressIn, actor: Writer, platform: PlatformDep
) -> dict[str, Any]:
    """By the responsible party only. Marking it delivered needs evidence (POST /api/partners/files)."""
    with platform.db.write() as conn:
        return agreements.report_progress(conn, actor, commitment_id, **body.model_dump(), now=_now())


@router.get(
    "/dashboard", response_model=list[DashboardOut], summary="Overdue and at-risk commitments, worst first"
)
def dashboard(viewer: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return agreements.dashboard(conn, viewer, _now())


@router.get(
    "/indicator-sources",
    response_model=dict[str, str],
    summary="Platform figures a commitment can be measured by",
)
def indicator_sources(viewer: Reader) -> dict[str, str]:
    return {key: label for key, (label, _) in SOURCES.items()}


@router.get(
    "/agreements/{agreement_id}/report",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/csv": {}}}},
    summary="Quarterly report of an agreement (PDF or CSV)",
)
def quarterly_report(
    agreement_id: str,
    viewer: Reader,
    platform: PlatformDep,
    quarter: Annotated[str, Query(description="e.g. 2026Q3", max_length=8)],
    format: Annotated[str, Query(pattern="^(pdf|csv)$")] = "pdf",
) -> Response:
    """One row per commitment with the platform's figure for the quarter where it has one."""
    try:
        period = Quarter.parse(quarter)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    with platform.db.read() as conn:
        report = reports.build(conn, viewer, agreement_id, period, _now())
    name = f"agreement-{agreement_id[:8]}-{period.label}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return Response(reports.to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(reports.to_pdf(report), media_type="application/pdf", headers=headers)


@router.post(
    "/files",
    response_model=StoredFileOut,
    status_code=201,
    summary="Store evidence of delivery (PDF or image, write-once)",
    openapi_extra=_PDF_BODY,
)
async def upload_file(request: Request, actor: Writer, platform: PlatformDep) -> StoredFileOut:
    """Returns the SHA-256 to cite in a progress report's `evidence_sha256`."""
    body, _ = await read_upload(request, media.DOCUMENT_TYPES | media.PHOTO_TYPES, media.MAX_DOCUMENT_BYTES)
    from starlette.concurrency import run_in_threadpool

    stored = await run_in_threadpool(store, platform, body)
    return StoredFileOut(sha256=stored.sha256, size=stored.size, created=stored.created)


# --- joint operations ------------------------------------------------------------------------


@router.get(
    "/operations", response_model=list[OperationSummaryOut], summary="Joint operations the caller may see"
)
def list_operations(
    viewer: Reader,
    platform: PlatformDep,
    operation_status: Annotated[OperationStatus | None, Query(alias="status")] = None,
) -> list[dict[str, Any]]:
    """Community partners see only operations their group takes part in, marked TLP:GREEN or CLEAR."""
    with platform.db.read() as conn:
        return operations.list_operations(conn, viewer, operation_status)


@router.post("/operations", response_model=OperationOut, status_code=201, summary="Plan a joint operation")
def plan_operation(body: OperationIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """The briefing is marked like intelligence (TLP, classification, caveats)."""
    try:
        marking = Marking.parse(body.marking.tlp, body.marking.classification, body.marking.caveats)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    spec = OperationPlan(
        **body.model_dump(exclude={"marking", "cells", "polygon"}),
        marking=marking,
        cells=tuple(body.cells),
        polygon=list(body.polygon) if body.polygon else None,
    )
    with platform.db.write() as conn:
        return operations.plan(conn, actor, spec, _now())


@router.get(
    "/operations/{operation_id}",
    response_model=OperationOut,
    summary="An operation: plan, participants, outcomes",
)
def get_operation(operation_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.read() as conn:
        return operations.get(conn, viewer, operation_id)


@router.post(
    "/operations/{operation_id}/start", response_model=OperationOut, summary="Mark the operation under way"
)
def start_operation(operation_id: str, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        return operations.start(conn, actor, operation_id, _now())


@router.post(
    "/operations/{operation_id}/links",
    response_model=TimelineEntryOut,
    status_code=201,
    summary="Link an event",
)
def link_event(operation_id: str, body: LinkIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """Pin a panic alert, CCTV event or cyber alert (by its id) to the shared timeline; you must
    be able to read it in its own module."""
    with platform.db.write() as conn:
        return operations.link(conn, actor, operation_id, body.kind, body.ref_id, _now())


@router.get(
    "/operations/{operation_id}/timeline",
    response_model=list[TimelineEntryOut],
    summary="The shared timeline",
)
def timeline(operation_id: str, viewer: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return operations.timeline(conn, viewer, operation_id)


@router.post(
    "/operations/{operation_id}/outcomes",
    response_model=OperationOut,
    status_code=201,
    summary="Record an outcome",
)
def record_outcome(
    operation_id: str, body: OutcomeIn, actor: Writer, platform: PlatformDep
) -> dict[str, Any]:
    """Arrests, seizures, illegal mining sites closed, by-law notices; they count toward the agreement."""
    with platform.db.write() as conn:
        return operations.record_outcome(
            conn, actor, operation_id, body.kind, body.quantity, body.description, _now()
        )


@router.post(
    "/operations/{operation_id}/debrief",
    response_model=OperationOut,
    summary="Debrief and close the operation",
)
def debrief(operation_id: str, body: DebriefIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        return operations.debrief(conn, actor, operation_id, body.debrief, _now())
