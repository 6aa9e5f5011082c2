"""Small builders for intel tests: a realistic item with every field overridable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from khusela.identity.model import Clearance
from khusela.intel.grading import Grade
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import (
    Attachment,
    Category,
    Entity,
    EntityKind,
    IntelItem,
    Locality,
    Observable,
    ObservableKind,
    Originator,
    TimeWindow,
)

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
HILLBROW = "87bcc352cffffff"  # H3 res 7 over Hillbrow, Johannesburg
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def item(**changes: Any) -> IntelItem:
    fields: dict[str, Any] = {
        "id": uuid.UUID("0b5d8f9e-3a41-4c1e-9e2f-5a7d6c8b9a01"),
        "version": 1,
        "title": "Zama-zama syndicate moving gold through Riverlea",
        "body": "Informal miners at the disused shaft sell to a buyer in a white bakkie on Fridays.",
        "category": Category.ILLEGAL_MINING,
        "originator": Originator("gauteng", "saps-ci-jhb", "analyst-17"),
        "marking": Marking(Tlp.AMBER, Clearance.CONFIDENTIAL, frozenset({"LEO"})),
        "created_at": T0,
        "updated_at": T0,
        "grade": Grade.parse("B2 P"),
        "locality": Locality("GP", "JHB", "JHB-ward-58", (HILLBROW,)),
        "window": TimeWindow(T0),
        "distribution": frozenset({"kwazulu-natal"}),
    }
    fields.update(changes)
    return IntelItem(**fields)


def human_item(**changes: Any) -> IntelItem:
    defaults: dict[str, Any] = {
        "human_source": True,
        "source_ref": "SRC-GP-0042",
        "source_description": "Shop owner on Twist Street, paid informer since 2023",
        "attachments": (
            Attachment("handler-notes.pdf", SHA, 1200),
            Attachment("shaft-photo.jpg", "a" * 64, 88_000, releasable=True),
        ),
        "observables": (Observable(ObservableKind.PHONE, "+27821234567"),),
    }
    return item(**(defaults | changes))


def person(**changes: Any) -> Entity:
    fields: dict[str, Any] = {
        "id": uuid.UUID("6c1a3e7b-2f4d-4b8a-9c0d-1e2f3a4b5c6d"),
        "kind": EntityKind.PERSON,
        "label": "Sipho 'Gold' M.",
        "marking": Marking(Tlp.AMBER, Clearance.CONFIDENTIAL),
        "justification": "Seen twice collecting gold-bearing sand from the Riverlea shaft buyers (B2)",
        "criminal_activity": Category.ILLEGAL_MINING,
    }
    fields.update(changes)
    return Entity(**fields)
