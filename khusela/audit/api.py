"""Audit routes for oversight and admins: read the newest records, verify the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Outgoing
from khusela.audit import log as audit
from khusela.identity.model import Principal
from khusela.identity.policy import Action

router = APIRouter(prefix="/api/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Action.AUDIT_READ))]


class AuditRecordOut(Outgoing):
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: str
    hash: str


class VerificationOut(Outgoing):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str


@router.get("", response_model=list[AuditRecordOut], summary="Newest audit records first")
def recent(
    _auditor: Auditor,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> list[AuditRecordOut]:
    with platform.db.read() as conn:
        rows = audit.recent(conn, limit, before)
    return [AuditRecordOut.model_validate(r) for r in rows]


@router.get("/verify", response_model=VerificationOut, summary="Check the whole hash chain")
def verify(_auditor: Auditor, platform: PlatformDep) -> VerificationOut:
    with platform.db.snapshot() as conn:
        return VerificationOut.model_validate(audit.verify(conn))
