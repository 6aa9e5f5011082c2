"""Agreements, their areas of collaboration and commitments, and progress reports.

Who may see an agreement: its parties' members (PARTNERS_READ), oversight (scope ALL), and
officials whose jurisdiction covers the agreement's province or municipality. Who may change
it: a member of a party with PARTNERS_WRITE. A progress report on a commitment comes from its
responsible party only — the point of the tracker is that each party answers for its own part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, or_, select, update

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.core.events import Event
from khusela.core.ids import new_id
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, Scope, read_filter, scope_of
from khusela.identity.tables import agencies
from khusela.partners.access import is_community
from khusela.partners.model import (
    AgreementStatus,
    AgreementType,
    AreaKind,
    CommitmentStatus,
    Direction,
    Health,
    LatestProgress,
    health,
    today_in_sa,
)
from khusela.partners.tables import (
    partner_agreement_parties,
    partner_agreements,
    partner_areas,
    partner_commitments,
    partner_progress,
)

AGREEMENT_CHANGED = "partners.agreement_changed"
PROGRESS_REPORTED = "partners.progress_reported"


@dataclass(frozen=True, slots=True)
class AgreementSpec:
    title: str
    type: AgreementType
    party_ids: tuple[str, ...]
    summary: str = ""
    status: AgreementStatus = AgreementStatus.DRAFT
    signed_on: date | None = None
    review_on: date | None = None
    ends_on: date | None = None
    province: str | None = None
    municipality: str | None = None


@dataclass(frozen=True, slots=True)
class CommitmentSpec:
    what: str
    responsible_agency_id: str
    due_on: date
    indicator: str
    source: str | None = None
    target: float | None = None
    direction: Direction = Direction.AT_LEAST


def visible_clause(viewer: Principal, action: Action = Action.PARTNERS_READ) -> ColumnElement[bool]:
    """Agreements the viewer may see: a party's members, or within the action's scope by place."""
    by_place = read_filter(
        viewer,
        action,
        Columns(province=partner_agreements.c.province, municipality=partner_agreements.c.municipality),
    )
    if viewer.agency_id is None or scope_of(viewer, action) is None:
        return by_place
    party = select(partner_agreement_parties.c.agreement_id).where(
        partner_agreement_parties.c.agency_id == viewer.agency_id
    )
    return or_(by_place, partner_agreements.c.id.in_(party))


def _row(conn: Connection, viewer: Principal, agreement_id: str, action: Action) -> dict[str, Any]:
    row = conn.execute(
        select(partner_agreements).where(
            partner_agreements.c.id == agreement_id, visible_clause(viewer, action)
        )
    ).first()
    if row is None:
        raise NotFound(f"no agreement {agreement_id} that you may see")
    return dict(row._mapping)


def parties_of(conn: Connection, agreement_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(agencies.c.id, agencies.c.name, agencies.c.type)
        .join(partner_agreement_parties, partner_agreement_parties.c.agency_id == agencies.c.id)
        .where(partner_agreement_parties.c.agreement_id == agreement_id)
        .order_by(agencies.c.name)
    )
    return [dict(r._mapping) for r in rows]


def writable(conn: Connection, actor: Principal, agreement_id: str) -> dict[str, Any]:
    """The agreement, when the actor's agency is a party (or their write scope is ALL)."""
    agreement = _row(conn, actor, agreement_id, Action.PARTNERS_READ)
    scope = scope_of(actor, Action.PARTNERS_WRITE)
    if scope is None:
        raise Forbidden("your roles do not allow partners.write")
    if scope is not Scope.ALL and actor.agency_id not in {p["id"] for p in parties_of(conn, agreement_id)}:
        raise Forbidden("only a party to the agreement may change it")
    return agreement


def create(conn: Connection, actor: Principal, spec: AgreementSpec, now: datetime) -> dict[str, Any]:
    if is_community(actor):
        raise Forbidden("agreements are recorded by the agencies' officials")
    parties = tuple(dict.fromkeys(spec.party_ids))
    if len(parties) < 2:
        raise InvalidInput("an agreement has at least two parties")
    known = set(conn.execute(select(agencies.c.id).where(agencies.c.id.in_(parties))).scalars())
    if missing := [p for p in parties if p not in known]:
        raise InvalidInput(f"unknown agencies: {', '.join(missing)}")
    if scope_of(actor, Action.PARTNERS_WRITE) is not Scope.ALL and actor.agency_id not in parties:
        raise Forbidden("you may record only agreements your own agency is a party to")
    _check_dates(spec)
    agreement_id = new_id()
    conn.execute(
        insert(partner_agreements).values(
            id=agreement_id,
            title=spec.title,
            type=spec.type.value,
            status=spec.status.value,
            signed_on=spec.signed_on,
            review_on=spec.review_on,
            ends_on=spec.ends_on,
            province=spec.province,
            municipality=spec.municipality,
            summary=spec.summary,
            created_by=actor.username,
            created_at=now,
            updated_at=now,
        )
    )
    conn.execute(
        insert(partner_agreement_parties), [{"agreement_id": agreement_id, "agency_id": p} for p in parties]
    )
    audit.record(
        conn, actor.username, "partners.agreement_create", "agreement", agreement_id, {"title": spec.title}
    )
    enqueue(conn, Event(AGREEMENT_CHANGED, {"agreement_id": agreement_id, "change": "created"}))
    return _row(conn, actor, agreement_id, Action.PARTNERS_READ)


def _check_dates(spec: AgreementSpec) -> None:
    if spec.status is AgreementStatus.ACTIVE and spec.signed_on is None:
        raise InvalidInput("an active agreement has a signing date")
    if spec.signed_on and spec.ends_on and spec.ends_on < spec.signed_on:
        raise InvalidInput("an agreement cannot end before it is signed")


def set_status(
    conn: Connection,
    actor: Principal,
    agreement_id: str,
    status: AgreementStatus,
    signed_on: date | None,
    now: datetime,
) -> dict[str, Any]:
    agreement = writable(conn, actor, agreement_id)
    signed = signed_on or agreement["signed_on"]
    if status is AgreementStatus.ACTIVE and signed is None:
        raise InvalidInput("an active agreement has a signing date")
    conn.execute(
        update(partner_agreements)
        .where(partner_agreements.c.id == agreement_id)
        .values(status=status.value, signed_on=signed, updated_at=now)
    )
    audit.record(
        conn, actor.username, "partners.agreement_status", "agreement", agreement_id, {"status": status.value}
    )
    enqueue(conn, Event(AGREEMENT_CHANGED, {"agreement_id": agreement_id, "change": status.value}))
    return _row(conn, actor, agreement_id, Action.PARTNERS_READ)


def attach_document(
    conn: Connection, actor: Principal, agreement_id: str, sha256: str, name: str, now: datetime
) -> dict[str, Any]:
    """Record the signed document's address; once set it is never replaced (write-once)."""
    agreement = writable(conn, actor, agreement_id)
    if agreement["document_sha256"] is not None:
        raise Conflict("the agreement's document is already stored; record an amended agreement instead")
    conn.execute(
        update(partner_agreements)
        .where(partner_agreements.c.id == agreement_id)
        .values(document_sha256=sha256, document_name=name, updated_at=now)
    )
    audit.record(
        conn, actor.username, "partners.agreement_document", "agreement", agreement_id, {"sha256": sha256}
    )
    return _row(conn, actor, agreement_id, Action.PARTNERS_READ)


def document_of(conn: Connection, viewer: Principal, agreement_id: str) -> tuple[str, str]:
    agreement = _row(conn, viewer, agreement_id, Action.PARTNERS_READ)
    if agreement["document_sha256"] is None:
        raise NotFound("the agreement has no stored document")
    return str(agreement["document_sha256"]), str(agreement["document_name"])


def add_area(
    conn: Connection, actor: Principal, agreement_id: str, kind: AreaKind, title: str, description: str
) -> dict[str, Any]:
    writable(conn, actor, agreement_id)
    area = {
        "id": new_id(),
        "agreement_id": agreement_id,
        "kind": kind.value,
        "title": title,
        "description": description,
    }
    conn.execute(insert(partner_areas).values(**area))
    audit.record(
        conn,
        actor.username,
        "partners.area_add",
        "agreement",
        agreement_id,
        {"area": area["id"], "kind": kind.value},
    )
    # An area can change what an active agreement allows (dispatch, sharing, cameras), so
    # those following agreements (the live feed's camera grants) hear of it at once.
    enqueue(conn, Event(AGREEMENT_CHANGED, {"agreement_id": agreement_id, "change": "area_added"}))
    return area


def add_commitment(
    conn: Connection, actor: Principal, area_id: str, spec: CommitmentSpec, now: datetime
) -> dict[str, Any]:
    from khusela.partners.indicators import SOURCES

    area = conn.execute(select(partner_areas).where(partner_areas.c.id == area_id)).first()
    if area is None:
        raise NotFound(f"no area {area_id}")
    writable(conn, actor, area.agreement_id)
    if spec.responsible_agency_id not in {p["id"] for p in parties_of(conn, area.agreement_id)}:
        raise InvalidInput("the responsible party must be a party to the agreement")
    if spec.source is not None and spec.source not in SOURCES:
        raise InvalidInput(
            f"unknown platform figure {spec.source!r} (choose from {', '.join(sorted(SOURCES))})"
        )
    row = {
        "id": new_id(),
        "agreement_id": area.agreement_id,
        "area_id": area_id,
        "what": spec.what,
        "responsible_agency_id": spec.responsible_agency_id,
        "due_on": spec.due_on,
        "indicator": spec.indicator,
        "source": spec.source,
        "target": spec.target,
        "direction": spec.direction.value,
        "status": CommitmentStatus.PLANNED.value,
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(insert(partner_commitments).values(**row))
    audit.record(
        conn,
        actor.username,
        "partners.commitment_add",
        "commitment",
        row["id"],
        {"agreement": area.agreement_id},
    )
    return commitment(conn, actor, row["id"], now)


def _commitment_row(conn: Connection, viewer: Principal, commitment_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(partner_commitments)
        .join(partner_agreements, partner_agreements.c.id == partner_commitments.c.agreement_id)
        .where(partner_commitments.c.id == commitment_id, visible_clause(viewer))
    ).first()
    if row is None:
        raise NotFound(f"no commitment {commitment_id} that you may see")
    return dict(row._mapping)


def report_progress(
    conn: Connection,
    actor: Principal,
    commitment_id: str,
    *,
    percent: int,
    on_track: bool,
    note: str,
    value: float | None,
    status: CommitmentStatus | None,
    evidence_sha256: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The responsible party reports; `status` moves the commitment (e.g. to delivered)."""
    row = _commitment_row(conn, actor, commitment_id)
    if scope_of(actor, Action.PARTNERS_WRITE) is None:
        raise Forbidden("your roles do not allow partners.write")
    if actor.agency_id != row["responsible_agency_id"]:
        raise Forbidden("only the responsible party reports progress on a commitment")
    if status is CommitmentStatus.DELIVERED and evidence_sha256 is None and row["evidence_sha256"] is None:
        raise InvalidInput("a delivered commitment needs evidence of delivery (upload it first)")
    conn.execute(
        insert(partner_progress).values(
            id=new_id(),
            commitment_id=commitment_id,
            agency_id=actor.agency_id,
            reported_by=actor.username,
            at=now,
            percent=100 if status is CommitmentStatus.DELIVERED else percent,
            value=value,
            on_track=on_track,
            note=note,
            evidence_sha256=evidence_sha256,
        )
    )
    changes: dict[str, Any] = {"updated_at": now}
    if status is not None:
        changes["status"] = status.value
    elif row["status"] == CommitmentStatus.PLANNED.value:
        changes["status"] = CommitmentStatus.IN_PROGRESS.value
    if evidence_sha256 is not None:
        changes["evidence_sha256"] = evidence_sha256
        changes["evidence_note"] = note[:1000]
    conn.execute(
        update(partner_commitments).where(partner_commitments.c.id == commitment_id).values(**changes)
    )
    audit.record(
        conn,
        actor.username,
        "partners.progress",
        "commitment",
        commitment_id,
        {"percent": percent, "on_track": on_track},
    )
    enqueue(
        conn, Event(PROGRESS_REPORTED, {"commitment_id": commitment_id, "agreement_id": row["agreement_id"]})
    )
    return commitment(conn, actor, commitment_id, now)


def _latest(conn: Connection, commitment_ids: list[str]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    if not commitment_ids:
        return latest
    rows = conn.execute(
        select(partner_progress)
        .where(partner_progress.c.commitment_id.in_(commitment_ids))
        .order_by(partner_progress.c.at, partner_progress.c.id)
    )
    for r in rows:
        latest[r.commitment_id] = dict(r._mapping)
    return latest


def _decorate(
    rows: list[dict[str, Any]], latest: dict[str, dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    today = today_in_sa(now)
    for row in rows:
        last = latest.get(row["id"])
        progress = LatestProgress(last["at"], last["percent"], last["on_track"]) if last else None
        row["health"] = health(CommitmentStatus(row["status"]), row["due_on"], progress, today).value
        row["percent"] = last["percent"] if last else 0
        row["reported_value"] = last["value"] if last else None
        row["last_report_at"] = last["at"] if last else None
    return rows


def commitment(conn: Connection, viewer: Principal, commitment_id: str, now: datetime) -> dict[str, Any]:
    row = _commitment_row(conn, viewer, commitment_id)
    return _decorate([row], _latest(conn, [row["id"]]), now)[0]


def progress_history(conn: Connection, viewer: Principal, commitment_id: str) -> list[dict[str, Any]]:
    _commitment_row(conn, viewer, commitment_id)
    rows = conn.execute(
        select(partner_progress)
        .where(partner_progress.c.commitment_id == commitment_id)
        .order_by(partner_progress.c.at, partner_progress.c.id)
    )
    return [dict(r._mapping) for r in rows]


def list_agreements(conn: Connection, viewer: Principal) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(partner_agreements)
        .where(visible_clause(viewer))
        .order_by(partner_agreements.c.created_at.desc())
    )
    out = []
    for r in rows:
        item = dict(r._mapping)
        item["parties"] = parties_of(conn, item["id"])
        out.append(item)
    return out


def detail(conn: Connection, viewer: Principal, agreement_id: str, now: datetime) -> dict[str, Any]:
    """The agreement with its parties, and each area with its commitments and their health."""
    agreement = _row(conn, viewer, agreement_id, Action.PARTNERS_READ)
    agreement["parties"] = parties_of(conn, agreement_id)
    areas = [
        dict(r._mapping)
        for r in conn.execute(
            select(partner_areas)
            .where(partner_areas.c.agreement_id == agreement_id)
            .order_by(partner_areas.c.title)
        )
    ]
    commitments = commitments_of(conn, [agreement_id], now)
    for area in areas:
        area["commitments"] = [c for c in commitments if c["area_id"] == area["id"]]
    agreement["areas"] = areas
    return agreement


def commitments_of(conn: Connection, agreement_ids: list[str], now: datetime) -> list[dict[str, Any]]:
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            select(partner_commitments, agencies.c.name.label("responsible_agency"))
            .join(agencies, agencies.c.id == partner_commitments.c.responsible_agency_id)
            .where(partner_commitments.c.agreement_id.in_(agreement_ids))
            .order_by(partner_commitments.c.due_on, partner_commitments.c.id)
        )
    ]
    return _decorate(rows, _latest(conn, [r["id"] for r in rows]), now)


def dashboard(conn: Connection, viewer: Principal, now: datetime) -> list[dict[str, Any]]:
    """Overdue and at-risk commitments across the agreements the viewer may see, worst first."""
    visible = conn.execute(
        select(partner_agreements.c.id, partner_agreements.c.title).where(visible_clause(viewer))
    )
    titles = {r.id: r.title for r in visible}
    flagged = [
        {**c, "agreement_title": titles[c["agreement_id"]]}
        for c in commitments_of(conn, list(titles), now)
        if c["health"] in (Health.OVERDUE.value, Health.AT_RISK.value)
    ]
    order = {Health.OVERDUE.value: 0, Health.AT_RISK.value: 1}
    return sorted(flagged, key=lambda c: (order[c["health"]], c["due_on"]))
