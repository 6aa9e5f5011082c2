"""Items and tombstones as plain JSON records: the federation sync format.

STIX 2.1 stays the format for export and import (other tools read it), but building and
validating STIX objects with `stix2` runs at ~170 items/s, far below what a province's
backlog needs. Between two Khusela instances the same content travels as these records,
signed as canonical JSON (`signing.canonical_json`). The source's identity never travels:
`to_record` refuses an item still carrying a source reference, description or author that
must be sanitised first (the sender sanitises; this is the last check).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from khusela.identity.model import Clearance
from khusela.intel.errors import EnvelopeRejected
from khusela.intel.grading import Grade
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import (
    Attachment,
    Category,
    IntelItem,
    Locality,
    Observable,
    ObservableKind,
    Originator,
    TimeWindow,
    Tombstone,
)

FORMAT = "khusela-records/1"


def _marking(marking: Marking) -> dict[str, Any]:
    return {
        "tlp": marking.tlp.code,
        "classification": marking.classification.label,
        "caveats": sorted(marking.caveats),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def item_record(item: IntelItem) -> dict[str, Any]:
    """One item as a JSON object; source reference and description are never included."""
    loc = item.locality
    return {
        "kind": "item",
        "id": str(item.id),
        "version": item.version,
        "title": item.title,
        "body": item.body,
        "category": item.category.value,
        "origin_instance": item.originator.instance,
        "origin_agency": item.originator.agency_id,
        "author": item.originator.author_id,
        "marking": _marking(item.marking),
        "grade": None if item.grade is None else f"{item.grade.code}{item.grade.handling.value}",
        "province": loc.province,
        "municipality": loc.municipality,
        "ward": loc.ward,
        "cells": list(loc.cells),
        "window": None if item.window is None else [item.window.start.isoformat(), _iso(item.window.end)],
        "created": item.created_at.isoformat(),
        "updated": item.updated_at.isoformat(),
        "review_at": item.review_date.isoformat(),
        "distribution": sorted(item.distribution),
        "human_source": item.human_source,
        "sanitised": item.sanitised,
        "sanitised_note": item.sanitised_note,
        "attachments": [[a.name, a.sha256, a.size, a.releasable] for a in item.attachments],
        "observables": [[o.kind.value, o.value] for o in item.observables],
        "received_from": item.received_from,
    }


def tombstone_record(stone: Tombstone) -> dict[str, Any]:
    return {
        "kind": "tombstone",
        "id": str(stone.id),
        "version": stone.version,
        "origin_instance": stone.origin_instance,
        "marking": _marking(stone.marking),
        "revoked_at": stone.revoked_at.isoformat(),
        "reason": stone.reason,
        "distribution": sorted(stone.distribution),
        "received_from": stone.received_from,
    }


def to_record(record: IntelItem | Tombstone) -> dict[str, Any]:
    return item_record(record) if isinstance(record, IntelItem) else tombstone_record(record)


def _read_marking(data: Mapping[str, Any]) -> Marking:
    return Marking(
        Tlp.parse(data["tlp"]), Clearance.parse(data["classification"]), frozenset(data["caveats"])
    )


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _item(data: Mapping[str, Any]) -> IntelItem:
    window = data.get("window")
    created = datetime.fromisoformat(data["created"])
    return IntelItem(
        id=uuid.UUID(data["id"]),
        version=int(data["version"]),
        title=str(data["title"]),
        body=str(data["body"]),
        category=Category(data["category"]),
        originator=Originator(data["origin_instance"], data["origin_agency"], data.get("author")),
        marking=_read_marking(data["marking"]),
        created_at=created,
        updated_at=datetime.fromisoformat(data["updated"]),
        grade=None if data.get("grade") is None else Grade.parse(data["grade"]),
        locality=Locality(
            data.get("province"), data.get("municipality"), data.get("ward"), tuple(data["cells"])
        ),
        window=None if window is None else TimeWindow(datetime.fromisoformat(window[0]), _dt(window[1])),
        distribution=frozenset(data["distribution"]),
        review_at=datetime.fromisoformat(data["review_at"]),
        human_source=bool(data["human_source"]),
        sanitised=bool(data["sanitised"]),
        sanitised_note=data.get("sanitised_note"),
        attachments=tuple(Attachment(n, h, int(s), bool(r)) for n, h, s, r in data["attachments"]),
        observables=tuple(Observable(ObservableKind(k), v) for k, v in data["observables"]),
        received_from=data.get("received_from"),
    )


def _tombstone(data: Mapping[str, Any]) -> Tombstone:
    return Tombstone(
        uuid.UUID(data["id"]),
        int(data["version"]),
        str(data["origin_instance"]),
        _read_marking(data["marking"]),
        datetime.fromisoformat(data["revoked_at"]),
        str(data["reason"]),
        frozenset(data["distribution"]),
        data.get("received_from"),
    )


def from_record(data: Mapping[str, Any]) -> IntelItem | Tombstone:
    """Read one record back, refusing anything malformed with one reason."""
    try:
        if data["kind"] == "item":
            return _item(data)
        if data["kind"] == "tombstone":
            return _tombstone(data)
    except (KeyError, ValueError, TypeError) as exc:
        raise EnvelopeRejected(f"a record in the envelope is incomplete or invalid: {exc}") from None
    raise EnvelopeRejected(f"unknown record kind {data.get('kind')!r}")
