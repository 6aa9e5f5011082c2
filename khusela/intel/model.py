"""Intelligence items, the entities and links they assert, and requests for information.

Plain frozen dataclasses with their own invariants checked at construction, so an invalid
item cannot exist in memory. A change is a new value with a higher `version` (see `revise`):
federation relies on (id, version) to apply updates once and in order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

import h3

from khusela.identity.model import Principal
from khusela.identity.policy import Resource
from khusela.intel.grading import Grade, HandlingCode
from khusela.intel.markings import Marking

REVIEW_PERIOD = timedelta(days=5 * 365 + 1)
"""Default life of an item before someone must re-justify keeping it (five years)."""

SHA256 = re.compile(r"[0-9a-f]{64}")


class Category(StrEnum):
    ILLEGAL_MINING = "illegal_mining"
    DRUG_TRAFFICKING = "drug_trafficking"
    VIOLENT_CRIME = "violent_crime"
    EXTORTION = "extortion"
    GANG_ACTIVITY = "gang_activity"
    INFRASTRUCTURE_THEFT = "infrastructure_theft"
    UNREST = "unrest"
    BYLAW_NON_ENFORCEMENT = "bylaw_non_enforcement"
    CYBER = "cyber"
    OTHER = "other"


def _aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone")


@dataclass(frozen=True, slots=True)
class Locality:
    """Where the item applies; any part may be unknown. Cells are H3 indexes at any resolution."""

    province: str | None = None
    municipality: str | None = None
    ward: str | None = None
    cells: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for cell in self.cells:
            if not h3.is_valid_cell(cell):
                raise ValueError(f"{cell!r} is not an H3 cell")

    @property
    def is_empty(self) -> bool:
        return not (self.province or self.municipality or self.ward or self.cells)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """When the reported activity happened or is expected; `end` None means still ongoing."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.start, "the window start")
        if self.end is not None:
            _aware(self.end, "the window end")
            if self.end < self.start:
                raise ValueError("the time window ends before it starts")


@dataclass(frozen=True, slots=True)
class Originator:
    """Who wrote the item: instance (province), agency and author. Sanitising drops the author."""

    instance: str
    agency_id: str
    author_id: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata only; the bytes live in the evidence store under `sha256`."""

    name: str
    sha256: str
    size: int
    releasable: bool = False

    def __post_init__(self) -> None:
        if not SHA256.fullmatch(self.sha256):
            raise ValueError(f"attachment {self.name!r}: sha256 must be 64 lower-case hex digits")
        if self.size < 0:
            raise ValueError(f"attachment {self.name!r}: size cannot be negative")


class ObservableKind(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    PHONE = "phone"
    SHA256 = "sha256"


@dataclass(frozen=True, slots=True)
class Observable:
    """Something a partner can match on (an address, a number): exported as a STIX indicator."""

    kind: ObservableKind
    value: str

    def __post_init__(self) -> None:
        if not self.value.strip() or self.value != self.value.strip():
            raise ValueError(f"{self.kind.value} observable must be a non-empty value without padding")


@dataclass(frozen=True, slots=True)
class IntelItem:
    """One intelligence report at one version."""

    id: uuid.UUID
    version: int
    title: str
    body: str
    category: Category
    originator: Originator
    marking: Marking
    created_at: datetime
    updated_at: datetime
    grade: Grade | None = None
    locality: Locality = field(default_factory=Locality)
    window: TimeWindow | None = None
    sharing_groups: frozenset[str] = frozenset()
    distribution: frozenset[str] = frozenset()
    review_at: datetime | None = None
    human_source: bool = False
    source_ref: str | None = None
    source_description: str | None = None
    attachments: tuple[Attachment, ...] = ()
    observables: tuple[Observable, ...] = ()
    sanitised: bool = False
    sanitised_note: str | None = None
    received_from: str | None = None

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError("an item's version starts at 1")
        if not self.title.strip():
            raise ValueError("an item needs a title")
        _aware(self.created_at, "created_at")
        _aware(self.updated_at, "updated_at")
        if self.updated_at < self.created_at:
            raise ValueError("an item cannot be updated before it was created")
        if self.sanitised and (
            self.source_ref
            or self.source_description
            or self.originator.author_id
            or not all(a.releasable for a in self.attachments)
        ):
            raise ValueError(
                "an item marked sanitised cannot carry its source, author or private attachments"
            )
        if self.review_at is None:
            object.__setattr__(self, "review_at", self.created_at + REVIEW_PERIOD)
        else:
            _aware(self.review_at, "review_at")

    @property
    def review_date(self) -> datetime:
        assert self.review_at is not None  # set in __post_init__
        return self.review_at

    @property
    def handling(self) -> HandlingCode | None:
        return self.grade.handling if self.grade else None

    @property
    def is_local(self) -> bool:
        """Written here rather than received from a partner instance."""
        return self.received_from is None

    def revise(self, at: datetime, **changes: object) -> IntelItem:
        """The next version of this item with `changes` applied (a new value; this one stays)."""
        return replace(self, version=self.version + 1, updated_at=at, **changes)  # type: ignore[arg-type]


def policy_resource(item: IntelItem, viewer: Principal | None = None) -> Resource:
    """What `khusela.identity.policy.can` needs to decide on this item for `viewer`: agency,
    place, classification, and whether TLP, distribution or sharing groups grant it to them
    (`khusela.intel.access.grant`). Sharing groups *widen* an item's audience, so they are a
    grant, not the policy's group restriction. Without a viewer, no grant applies."""
    from khusela.intel.access import Shareable, grant  # access reads tables; the model stays pure

    loc = item.locality
    granted = viewer is not None and grant(
        viewer,
        Shareable(
            agency_id=item.originator.agency_id,
            author_id=item.originator.author_id,
            tlp=item.marking.tlp,
            classification=item.marking.classification,
            groups=item.sharing_groups,
            agencies=item.distribution,
            users=item.distribution,
            received=item.received_from is not None,
        ),
    )
    return Resource(
        owner_id=item.originator.author_id,
        agency_id=item.originator.agency_id,
        province=loc.province,
        municipality=loc.municipality,
        cell=loc.cells[0] if loc.cells else None,
        classification=item.marking.classification,
        granted=granted,
    )


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A revoked or purged item as it travels: enough to delete it, nothing of its content."""

    id: uuid.UUID
    version: int
    origin_instance: str
    marking: Marking
    revoked_at: datetime
    reason: str
    distribution: frozenset[str] = frozenset()
    received_from: str | None = None


def tombstone(item: IntelItem, at: datetime, reason: str) -> Tombstone:
    """The tombstone that replaces `item`; it keeps the marking so it travels no further than
    the item did."""
    return Tombstone(
        item.id,
        item.version,
        item.originator.instance,
        item.marking,
        at,
        reason,
        item.distribution,
        item.received_from,
    )


class EntityKind(StrEnum):
    PERSON = "person"
    VEHICLE = "vehicle"
    ORGANISATION = "organisation"
    LOCATION = "location"
    PHONE = "phone"
    BUSINESS = "business"
    MINE_SITE = "mine_site"


@dataclass(frozen=True, slots=True)
class Entity:
    """Something items talk about. For a person, `justification` and `criminal_activity` record
    the reasonable suspicion that allows keeping the record at all (see `handling`)."""

    id: uuid.UUID
    kind: EntityKind
    label: str
    marking: Marking
    attributes: Mapping[str, str] = field(default_factory=dict)
    justification: str | None = None
    criminal_activity: Category | None = None
    case_ref: str | None = None

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ValueError("an entity needs a label")
        object.__setattr__(self, "attributes", MappingProxyType(dict(sorted(self.attributes.items()))))

    def __hash__(self) -> int:
        return hash((self.id, self.kind, self.label))


@dataclass(frozen=True, slots=True)
class EntityLink:
    """Two entities related, as asserted by one item (the link dies with its item)."""

    id: uuid.UUID
    source: uuid.UUID
    target: uuid.UUID
    relation: str
    asserted_by: uuid.UUID


@dataclass(frozen=True, slots=True)
class ItemLink:
    """An entity mentioned by an item; `asserted_by` is the item making the claim."""

    id: uuid.UUID
    entity: uuid.UUID
    item: uuid.UUID
    relation: str
    asserted_by: uuid.UUID


class RfiStatus(StrEnum):
    ASKED = "asked"
    ASSIGNED = "assigned"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class RfiAnswer:
    """The answer is itself marked: it may be more sensitive than the question."""

    text: str
    marking: Marking
    answered_by: Originator
    answered_at: datetime
    grade: Grade | None = None


@dataclass(frozen=True, slots=True)
class RequestForInformation:
    id: uuid.UUID
    question: str
    asked_by: Originator
    asked_at: datetime
    marking: Marking
    status: RfiStatus = RfiStatus.ASKED
    assigned_to: str | None = None
    answer: RfiAnswer | None = None

    def assign(self, agency_id: str) -> RequestForInformation:
        """Hand the question to an agency; an answered request is closed."""
        if self.status is RfiStatus.ANSWERED:
            raise ValueError("this request has already been answered")
        return replace(self, status=RfiStatus.ASSIGNED, assigned_to=agency_id)

    def respond(self, answer: RfiAnswer) -> RequestForInformation:
        """Record the answer from the agency it was assigned to."""
        if self.status is not RfiStatus.ASSIGNED or self.assigned_to is None:
            raise ValueError("assign the request to an agency before answering it")
        if answer.answered_by.agency_id != self.assigned_to:
            raise ValueError("only the agency the request is assigned to may answer it")
        if answer.answered_at < self.asked_at:
            raise ValueError("an answer cannot predate its question")
        return replace(self, status=RfiStatus.ANSWERED, answer=answer)
