"""API bodies of the intel module: `…Create` / `…In` are `Incoming`, `…Out` are `Outgoing`.

`to_draft` turns a create body into the domain model, so every marking and grading rule is
the model's (a bad TLP, grade or H3 cell is a 422 with the model's own reason)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from khusela.api.schemas import Incoming, Outgoing
from khusela.core.errors import InvalidInput
from khusela.intel.grading import Credibility, Grade, HandlingCode, Reliability
from khusela.intel.markings import Marking, banner
from khusela.intel.model import (
    Category,
    IntelItem,
    Locality,
    Observable,
    ObservableKind,
    Originator,
    TimeWindow,
)
from khusela.intel.rows import StoredItem
from khusela.intel.store import Draft, Sharing

_ID_LIST: Any = Field(default_factory=list, max_length=200)


class ObservableIn(Incoming):
    kind: ObservableKind
    value: str = Field(min_length=1, max_length=500)


class DistributionIn(Incoming):
    agencies: list[str] = Field(default_factory=list, max_length=200, description="Recipient agency ids.")
    users: list[str] = Field(default_factory=list, max_length=200, description="Named users (TLP:RED).")
    instances: list[str] = Field(default_factory=list, max_length=20, description="Partner instances.")


class ItemCreate(Incoming):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=100_000)
    category: Category
    tlp: str = Field(min_length=3, max_length=20, description="CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")
    classification: str = Field("restricted", max_length=20)
    caveats: list[str] = Field(default_factory=list, max_length=10)
    source_grade: str = Field(min_length=1, max_length=1, description="Source reliability, A to F.")
    information_grade: int = Field(ge=1, le=6, description="Information credibility, 1 to 6.")
    handling: str = Field(min_length=1, max_length=1, description="Handling code: P or C.")
    province: str | None = Field(None, max_length=8)
    municipality: str | None = Field(None, max_length=40)
    ward: str | None = Field(None, max_length=40)
    cells: list[str] = Field(default_factory=list, max_length=100)
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    review_at: AwareDatetime | None = None
    human_source: bool = False
    source_ref: str | None = Field(None, max_length=80)
    source_description: str | None = Field(None, max_length=1000)
    observables: list[ObservableIn] = Field(default_factory=list, max_length=100)
    sharing_groups: list[str] = _ID_LIST
    distribution: DistributionIn = Field(default_factory=DistributionIn)
    share_reason: str = Field("", max_length=1000, description="Why it is shared (required when shared).")

    def to_draft(self, now: datetime) -> Draft:
        try:
            grade = Grade(
                Reliability.parse(self.source_grade),
                Credibility.parse(self.information_grade),
                HandlingCode.parse(self.handling),
            )
            locality = Locality(self.province, self.municipality, self.ward, tuple(self.cells))
            if locality.is_empty:
                raise ValueError("give a locality: province, municipality, ward or H3 cells")
            window = TimeWindow(self.window_start, self.window_end) if self.window_start else None
            if window is None and self.window_end is not None:
                raise ValueError("a window end needs a window start")
            item = IntelItem(
                id=uuid.uuid4(),
                version=1,
                title=self.title,
                body=self.body,
                category=self.category,
                originator=Originator("local", "pending"),
                marking=Marking.parse(self.tlp, self.classification, self.caveats),
                created_at=now,
                updated_at=now,
                grade=grade,
                locality=locality,
                window=window,
                review_at=self.review_at,
                human_source=self.human_source,
                source_ref=self.source_ref,
                source_description=self.source_description,
                observables=tuple(Observable(o.kind, o.value) for o in self.observables),
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        sharing = Sharing(
            frozenset(self.distribution.agencies),
            frozenset(self.distribution.users),
            frozenset(self.sharing_groups),
            frozenset(self.distribution.instances),
            self.share_reason,
        )
        return Draft(item, sharing)


class ShareIn(Incoming):
    agencies: list[str] = _ID_LIST
    users: list[str] = _ID_LIST
    groups: list[str] = _ID_LIST
    instances: list[str] = Field(default_factory=list, max_length=20)
    reason: str = Field(min_length=10, max_length=1000)

    def sharing(self) -> Sharing:
        return Sharing(
            frozenset(self.agencies),
            frozenset(self.users),
            frozenset(self.groups),
            frozenset(self.instances),
            self.reason,
        )


class ReviseIn(Incoming):
    title: str | None = Field(None, min_length=1, max_length=300)
    body: str | None = Field(None, min_length=1, max_length=100_000)
    reason: str = Field(min_length=10, max_length=1000, description="What was corrected and why.")

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in (("title", self.title), ("body", self.body)) if v is not None}


class ReasonIn(Incoming):
    reason: str = Field(min_length=10, max_length=1000)


class ReleaseIn(Incoming):
    recipient_user_id: str = Field(min_length=1, max_length=36)
    justification: str = Field(min_length=20, max_length=2000)
    review_by: AwareDatetime


class ItemOut(Outgoing):
    id: str
    version: int
    title: str
    body: str
    category: str
    banner: str
    tlp: str
    classification: str
    caveats: list[str]
    grade: str | None
    handling: str | None
    province: str | None
    municipality: str | None
    ward: str | None
    cells: list[str]
    window_start: datetime | None
    window_end: datetime | None
    origin_instance: str
    agency_id: str
    author_id: str | None
    review_at: datetime
    human_source: bool
    source_ref: str | None
    sanitised: bool
    sanitised_note: str | None
    received_from: str | None
    sharing_groups: list[str]
    distribution: dict[str, list[str]]
    observables: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredItem) -> ItemOut:
        item, aud = stored.item, stored.audience
        grade = item.grade
        return cls(
            id=str(item.id),
            version=item.version,
            title=item.title,
            body=item.body,
            category=item.category.value,
            banner=banner(item.marking, grade),
            tlp=item.marking.tlp.label,
            classification=item.marking.classification.label,
            caveats=sorted(item.marking.caveats),
            grade=grade.code if grade else None,
            handling=grade.handling.value if grade else None,
            province=item.locality.province,
            municipality=item.locality.municipality,
            ward=item.locality.ward,
            cells=list(item.locality.cells),
            window_start=item.window.start if item.window else None,
            window_end=item.window.end if item.window else None,
            origin_instance=item.originator.instance,
            agency_id=item.originator.agency_id,
            author_id=item.originator.author_id,
            review_at=item.review_date,
            human_source=item.human_source,
            source_ref=item.source_ref,
            sanitised=item.sanitised,
            sanitised_note=item.sanitised_note,
            received_from=item.received_from,
            sharing_groups=sorted(aud.groups),
            distribution={
                "agencies": sorted(aud.agencies),
                "users": sorted(aud.users),
                "instances": sorted(item.distribution),
            },
            observables=[{"kind": o.kind.value, "value": o.value} for o in item.observables],
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class GroupCreate(Incoming):
    name: str = Field(min_length=2, max_length=200)
    description: str = Field("", max_length=1000)
    max_tlp: str = Field("AMBER", max_length=20, description="The group's maximum shareable TLP.")
    max_classification: str = Field("secret", max_length=20)
    accepted_caveats: list[str] = Field(default_factory=list, max_length=20)
    aggregate_only: bool = False


class MemberIn(Incoming):
    user_id: str = Field(min_length=1, max_length=36)


class GroupOut(Outgoing):
    id: str
    name: str
    description: str
    max_tlp: str
    max_classification: str
    accepted_caveats: list[str]
    aggregate_only: bool


class GroupMemberOut(Outgoing):
    user_id: str
    username: str
    display_name: str
    agency: str | None


Direction = Literal["pull", "push"]


def utcnow() -> datetime:
    return datetime.now(UTC)
