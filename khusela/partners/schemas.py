"""API bodies for the partners module (in: `…In`, out: `…Out`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from khusela.api.schemas import Incoming, Outgoing
from khusela.partners.community import Category, Severity, SubscriptionKind, Urgency
from khusela.partners.model import (
    AgreementStatus,
    AgreementType,
    AreaKind,
    CommitmentStatus,
    Direction,
    LinkKind,
    OutcomeKind,
    TipCategory,
    TipStatus,
)

Id = Field(min_length=1, max_length=36)

# --- agreements ----------------------------------------------------------------------------


class AgreementIn(Incoming):
    title: str = Field(min_length=3, max_length=300)
    type: AgreementType
    party_ids: list[str] = Field(
        min_length=2, max_length=20, description="Agency ids of every party, yours included."
    )
    summary: str = Field("", max_length=5000)
    status: AgreementStatus = AgreementStatus.DRAFT
    signed_on: date | None = None
    review_on: date | None = None
    ends_on: date | None = None
    province: str | None = Field(None, max_length=8, description="Where it applies (for officials' reach).")
    municipality: str | None = Field(None, max_length=16)


class AgreementStatusIn(Incoming):
    status: AgreementStatus
    signed_on: date | None = None


class PartyOut(Outgoing):
    id: str
    name: str
    type: str


class AgreementOut(Outgoing):
    id: str
    title: str
    type: AgreementType
    status: AgreementStatus
    signed_on: date | None
    review_on: date | None
    ends_on: date | None
    province: str | None
    municipality: str | None
    summary: str
    document_sha256: str | None = Field(description="SHA-256 of the stored signed document, once uploaded.")
    document_name: str | None
    parties: list[PartyOut]
    created_by: str
    created_at: datetime
    updated_at: datetime


class AreaIn(Incoming):
    kind: AreaKind = Field(
        description="cctv_integration, information_sharing and dispatch drive rules elsewhere."
    )
    title: str = Field(min_length=2, max_length=200)
    description: str = Field("", max_length=5000)


class CommitmentIn(Incoming):
    what: str = Field(min_length=3, max_length=500)
    responsible_agency_id: str = Id
    due_on: date
    indicator: str = Field(min_length=2, max_length=300, description="What is measured, in words.")
    source: str | None = Field(
        None,
        max_length=40,
        description="A platform figure that fills the indicator (GET /api/partners/indicator-sources).",
    )
    target: float | None = None
    direction: Direction = Direction.AT_LEAST


class CommitmentOut(Outgoing):
    id: str
    agreement_id: str
    area_id: str
    what: str
    responsible_agency_id: str
    responsible_agency: str | None = None
    due_on: date
    indicator: str
    source: str | None
    target: float | None
    direction: Direction
    status: CommitmentStatus
    health: str = Field(description="on_track, at_risk, overdue, delivered or cancelled.")
    percent: int
    reported_value: float | None
    last_report_at: datetime | None
    evidence_sha256: str | None
    evidence_note: str | None


class AreaOut(Outgoing):
    id: str
    kind: AreaKind
    title: str
    description: str
    commitments: list[CommitmentOut] = Field(default_factory=list)


class AgreementDetailOut(AgreementOut):
    areas: list[AreaOut]


class ProgressIn(Incoming):
    percent: int = Field(ge=0, le=100)
    on_track: bool = True
    note: str = Field(min_length=1, max_length=5000)
    value: float | None = Field(None, description="The indicator's value as the party measured it.")
    status: CommitmentStatus | None = Field(None, description="Move the commitment, e.g. to delivered.")
    evidence_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="From POST /api/partners/files (evidence of delivery)."
    )


class ProgressOut(Outgoing):
    id: str
    commitment_id: str
    agency_id: str
    reported_by: str
    at: datetime
    percent: int
    value: float | None
    on_track: bool
    note: str
    evidence_sha256: str | None


class DashboardOut(CommitmentOut):
    agreement_title: str


class StoredFileOut(Outgoing):
    sha256: str
    size: int
    created: bool = Field(description="False when the same bytes were already stored.")


# --- operations ----------------------------------------------------------------------------


class MarkingIn(Incoming):
    tlp: str = Field("AMBER", description="TLP 2.0: CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")
    classification: str = Field("unclassified", description="unclassified … top_secret.")
    caveats: list[str] = Field(default_factory=list, max_length=10)


class OperationIn(Incoming):
    name: str = Field(min_length=2, max_length=200)
    objective: str = Field(min_length=2, max_length=5000)
    starts_at: datetime
    ends_at: datetime
    lead_agency_id: str = Id
    commander: str = Field(min_length=2, max_length=200)
    participants: dict[str, list[str]] = Field(
        default_factory=dict, description="Agency id → units (call signs or unit ids) it commits."
    )
    cells: list[str] = Field(default_factory=list, max_length=5000, description="H3 cells of the area.")
    polygon: list[tuple[float, float]] | None = Field(
        None, min_length=3, max_length=500, description="(lat, lon) corners; its H3 cells are added."
    )
    briefing: str = Field("", max_length=20000)
    marking: MarkingIn = Field(default_factory=MarkingIn)
    agreement_id: str | None = Field(None, max_length=36, description="Outcomes count toward this agreement.")
    province: str | None = Field(None, max_length=8)
    municipality: str | None = Field(None, max_length=16)


class ParticipantOut(Outgoing):
    id: str
    name: str
    units: list[str]


class OutcomeOut(Outgoing):
    id: int
    kind: OutcomeKind
    quantity: int
    description: str
    at: datetime
    recorded_by: str


class OperationSummaryOut(Outgoing):
    id: str
    name: str
    objective: str
    status: str
    starts_at: datetime
    ends_at: datetime
    lead_agency_id: str
    commander: str
    agreement_id: str | None
    tlp: int
    classification: int


class OperationOut(OperationSummaryOut):
    banner: str = Field(
        description="The marking as printed above the briefing, e.g. TLP:AMBER // UNCLASSIFIED."
    )
    caveats: list[str]
    briefing: str
    debrief: str | None
    area: dict[str, Any] | None = Field(description="GeoJSON Polygon, when one was drawn.")
    cells: list[str]
    participants: list[ParticipantOut]
    outcomes: list[OutcomeOut]
    register_entries_updated: int | None = Field(
        None,
        description="On the debrief only: how many risk-register entries you may read got a done"
        " mitigation line from this operation's outcomes.",
    )


class LinkIn(Incoming):
    kind: LinkKind
    ref_id: str = Field(min_length=1, max_length=64, description="The event's id in its own module.")


class TimelineEntryOut(Outgoing):
    at: datetime
    kind: str
    ref_id: str | None
    summary: str


class OutcomeIn(Incoming):
    kind: OutcomeKind
    quantity: int = Field(1, ge=1, le=100000)
    description: str = Field(min_length=2, max_length=1000)


class DebriefIn(Incoming):
    debrief: str = Field(min_length=10, max_length=50000)


# --- community -----------------------------------------------------------------------------


class CommunityAlertIn(Incoming):
    headline: str = Field(min_length=5, max_length=160)
    description: str = Field(min_length=5, max_length=5000)
    area_desc: str = Field(
        min_length=2, max_length=300, description="The area in words, e.g. 'Yeoville and Bellevue'."
    )
    category: Category = Category.SAFETY
    severity: Severity = Severity.MODERATE
    urgency: Urgency = Urgency.EXPECTED
    instruction: str | None = Field(None, max_length=1000)
    cells: list[str] = Field(default_factory=list, max_length=2000)
    province: str | None = Field(None, max_length=8)
    municipality: str | None = Field(None, max_length=16)
    valid_hours: float = Field(24, gt=0, le=336)


class CommunityAlertOut(Outgoing):
    id: str
    version: int
    status: str
    category: str
    severity: str
    urgency: str
    headline: str
    description: str
    instruction: str | None
    area_desc: str
    province: str | None
    municipality: str | None
    cells: list[str]
    sent_at: datetime
    expires_at: datetime


class IssuedOut(CommunityAlertOut):
    delivery: Literal["pending", "complete"] = Field(
        description="Texts and pushes go out in the background; `pending` until everyone following"
        " the area was told about this version (GET the alert for the counts so far)."
    )


class DeliveriesOut(Outgoing):
    sms: int = Field(description="People texted about the alert's current version.")
    push: int = Field(description="People sent a push about the alert's current version.")


class CommunityAlertDetailOut(IssuedOut):
    deliveries: DeliveriesOut


class SubscriptionIn(Incoming):
    kind: SubscriptionKind
    value: str = Field(
        min_length=1, max_length=16, description="An H3 cell, or a municipality code (e.g. JHB)."
    )


class SubscriptionOut(Outgoing):
    id: int
    kind: SubscriptionKind
    value: str


class PatrolAreaIn(Incoming):
    cells: list[str] = Field(max_length=2000)


class ScreenIn(Incoming):
    text: str = Field(max_length=20000)


class FindingOut(Outgoing):
    kind: str
    start: int
    end: int
    masked: str


class PatrolIn(Incoming):
    started_at: datetime
    ended_at: datetime
    route: dict[str, Any] = Field(description="GeoJSON LineString, MultiPoint or Point ([lon, lat]).")
    observations: str = Field(min_length=1, max_length=20000)
    confirm_personal_information: bool = Field(
        False,
        description="Set after the screening flagged ID or phone numbers that are needed in the report.",
    )


class PhotoOut(Outgoing):
    sha256: str
    content_type: str
    size: int


class PatrolOut(Outgoing):
    id: str
    agency_id: str
    started_at: datetime
    ended_at: datetime
    route: dict[str, Any]
    observations: str
    flags: list[str] = Field(description="Kinds of personal information the submitter confirmed.")
    province: str | None
    municipality: str | None
    cell: str | None
    photos: list[PhotoOut]
    created_at: datetime


# --- tips ----------------------------------------------------------------------------------


class TipIn(Incoming):
    category: TipCategory = TipCategory.OTHER
    body: str = Field(min_length=5, max_length=10000, description="What you know. Do not include your name.")
    province: str | None = Field(None, max_length=8, description="Where it happens (optional).")
    municipality: str | None = Field(None, max_length=16)
    cell: str | None = Field(None, max_length=16)


class TipCodeOut(Outgoing):
    tracking_code: str = Field(description="Shown once. Keep it: it is the only way back to this tip.")


class TipMessageIn(Incoming):
    body: str = Field(min_length=1, max_length=10000)


class TipMessageOut(Outgoing):
    author: str = Field(description="tipster or staff")
    agency_name: str | None
    body: str
    hour: datetime = Field(description="Times are kept to the hour only.")


class TipPublicOut(Outgoing):
    status: TipStatus
    category: TipCategory
    received_hour: datetime
    updated_hour: datetime
    messages: list[TipMessageOut]


class TipStaffOut(Outgoing):
    id: str
    status: TipStatus
    category: TipCategory
    province: str | None
    municipality: str | None
    cell: str | None
    received_hour: datetime
    updated_hour: datetime
    messages: list[TipMessageOut]


class TipReplyIn(Incoming):
    body: str | None = Field(
        None, min_length=1, max_length=10000, description="Read by the tipster, signed by your agency."
    )
    status: TipStatus | None = None
