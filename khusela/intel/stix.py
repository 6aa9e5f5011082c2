"""Items, entities and links to and from STIX 2.1 bundles, with the `stix2` library.

Mapping: an item is a ``report`` (plus an ``indicator`` per observable), its agency an
``identity``, its locality a ``location`` in ZA, entities ``identity`` / ``location`` /
``infrastructure``, links ``relationship``, a revoked item a ``report`` with ``revoked: true``.
TLP is the OASIS TLP 2.0 marking; everything else that governs handling travels in Khusela's
property extension (`stix_extension`). The source's identity (source reference and
description) is never exported: only sanitised provenance leaves the platform.

Import refuses a bundle that the library rejects (``allow_custom=False``) or whose Khusela
objects lack a TLP marking or the extension, because an unmarked report cannot be handled.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import h3
import stix2
from stix2.exceptions import STIXError

from khusela.identity.model import Clearance
from khusela.intel.errors import BundleRejected
from khusela.intel.grading import Credibility, Grade, HandlingCode, Reliability
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import (
    Attachment,
    Category,
    Entity,
    EntityKind,
    EntityLink,
    IntelItem,
    ItemLink,
    Locality,
    Observable,
    ObservableKind,
    Originator,
    TimeWindow,
    Tombstone,
)
from khusela.intel.stix_extension import extension_definition, khusela_identity
from khusela.intel.stix_ids import (
    EXTENSION_CREATED,
    EXTENSION_ID,
    TLP2_MARKING_IDS,
    TLP_BY_MARKING_ID,
    stix_id,
    tlp_marking,
)

PATTERNS: dict[ObservableKind, str] = {
    ObservableKind.IPV4: "ipv4-addr:value",
    ObservableKind.IPV6: "ipv6-addr:value",
    ObservableKind.DOMAIN: "domain-name:value",
    ObservableKind.URL: "url:value",
    ObservableKind.EMAIL: "email-addr:value",
    ObservableKind.PHONE: "x-khusela-phone:value",  # STIX 2.1 has no phone-number object
    ObservableKind.SHA256: "file:hashes.'SHA-256'",
}
_ENTITY_TYPES: dict[EntityKind, str] = {
    EntityKind.PERSON: "identity",
    EntityKind.ORGANISATION: "identity",
    EntityKind.BUSINESS: "identity",
    EntityKind.LOCATION: "location",
    EntityKind.MINE_SITE: "location",
    EntityKind.VEHICLE: "infrastructure",
    EntityKind.PHONE: "infrastructure",
}


@dataclass(frozen=True, slots=True)
class Exchange:
    """What a bundle carries, in domain terms."""

    items: tuple[IntelItem, ...] = ()
    tombstones: tuple[Tombstone, ...] = ()
    entities: tuple[Entity, ...] = ()
    entity_links: tuple[EntityLink, ...] = ()
    item_links: tuple[ItemLink, ...] = ()


# ---------------------------------------------------------------- export


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _marking_ext(marking: Marking, kind: str) -> dict[str, Any]:
    ext: dict[str, Any] = {
        "extension_type": "property-extension",
        "object_kind": kind,
        "classification": marking.classification.label,
    }
    if marking.caveats:
        ext["caveats"] = sorted(marking.caveats)
    return ext


def _common(marking: Marking, ext: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in ext.items() if v is not None and v not in ([], {})}
    return {"object_marking_refs": [TLP2_MARKING_IDS[marking.tlp]], "extensions": {EXTENSION_ID: clean}}


def _agency_identity(instance: str, agency: str) -> Any:
    return stix2.v21.Identity(
        id=stix_id("identity", f"agency:{instance}:{agency}"),
        created=EXTENSION_CREATED,
        modified=EXTENSION_CREATED,
        name=agency,
        identity_class="organization",
    )


def _instance_identity(instance: str) -> Any:
    return stix2.v21.Identity(
        id=stix_id("identity", f"instance:{instance}"),
        created=EXTENSION_CREATED,
        modified=EXTENSION_CREATED,
        name=instance,
        identity_class="system",
    )


def _pattern(obs: Observable) -> str:
    escaped = obs.value.replace("\\", "\\\\").replace("'", "\\'")
    return f"[{PATTERNS[obs.kind]} = '{escaped}']"


def _item_ext(item: IntelItem) -> dict[str, Any]:
    ext = _marking_ext(item.marking, "item")
    loc, grade = item.locality, item.grade
    ext |= {
        "version": item.version,
        "origin_instance": item.originator.instance,
        "origin_agency": item.originator.agency_id,
        "author": item.originator.author_id,
        "received_from": item.received_from,
        "category": item.category.value,
        "review_at": _iso(item.review_date),
        "window_start": _iso(item.window.start) if item.window else None,
        "window_end": _iso(item.window.end) if item.window and item.window.end else None,
        "province": loc.province,
        "municipality": loc.municipality,
        "ward": loc.ward,
        "cells": list(loc.cells),
        "sharing_groups": sorted(item.sharing_groups),
        "distribution": sorted(item.distribution),
        "human_source": item.human_source,
        "sanitised": item.sanitised,
        "sanitised_note": item.sanitised_note,
        "attachments": [
            {"name": a.name, "sha256": a.sha256, "size": a.size, "releasable": a.releasable}
            for a in item.attachments
        ],
    }
    if grade is not None:
        ext |= {
            "source_reliability": grade.reliability.value,
            "information_credibility": int(grade.credibility),
            "handling": grade.handling.value,
        }
    return ext


def _item_objects(item: IntelItem) -> list[Any]:
    agency = _agency_identity(item.originator.instance, item.originator.agency_id)
    common = _common(item.marking, {})
    common.pop("extensions")
    stamp = {"created": item.created_at, "modified": item.updated_at, "created_by_ref": agency.id}
    objects: list[Any] = [agency]
    refs = [agency.id]
    loc = item.locality
    if not loc.is_empty:
        where: dict[str, Any] = {"region": "southern-africa", "country": "ZA"}
        if loc.province:
            where["administrative_area"] = loc.province
        if loc.municipality:
            where["city"] = loc.municipality
        if loc.cells:
            where["latitude"], where["longitude"] = h3.cell_to_latlng(loc.cells[0])
        location = stix2.v21.Location(id=stix_id("location", f"item:{item.id}"), **where, **stamp, **common)
        objects.append(location)
        refs.append(location.id)
    for obs in item.observables:
        indicator = stix2.v21.Indicator(
            id=stix_id("indicator", f"{item.id}:{obs.kind.value}:{obs.value}"),
            name=f"{obs.kind.value} {obs.value}",
            indicator_types=["malicious-activity"],
            pattern=_pattern(obs),
            pattern_type="stix",
            valid_from=item.window.start if item.window else item.created_at,
            **stamp,
            **common,
        )
        objects.append(indicator)
        refs.append(indicator.id)
    report = stix2.v21.Report(
        id=f"report--{item.id}",
        name=item.title,
        description=item.body or None,
        report_types=["threat-report"],
        labels=[item.category.value],
        published=item.created_at,
        object_refs=refs,
        **stamp,
        **_common(item.marking, _item_ext(item)),
    )
    return [*objects, report]


def _tombstone_objects(stone: Tombstone) -> list[Any]:
    origin = _instance_identity(stone.origin_instance)
    ext = _marking_ext(stone.marking, "tombstone") | {
        "version": stone.version,
        "origin_instance": stone.origin_instance,
        "received_from": stone.received_from,
        "reason": stone.reason,
        "distribution": sorted(stone.distribution),
    }
    report = stix2.v21.Report(
        id=f"report--{stone.id}",
        name="revoked intelligence item",
        published=stone.revoked_at,
        created=stone.revoked_at,
        modified=stone.revoked_at,
        created_by_ref=origin.id,
        object_refs=[origin.id],
        revoked=True,
        **_common(stone.marking, ext),
    )
    return [origin, report]


def _entity_ref(kind: EntityKind, entity_id: uuid.UUID) -> str:
    return f"{_ENTITY_TYPES[kind]}--{entity_id}"


def _entity_object(entity: Entity) -> Any:
    ext = _marking_ext(entity.marking, "entity") | {
        "entity_kind": entity.kind.value,
        "attributes": dict(entity.attributes),
        "justification": entity.justification,
        "criminal_activity": entity.criminal_activity.value if entity.criminal_activity else None,
        "case_ref": entity.case_ref,
    }
    kwargs = {"id": _entity_ref(entity.kind, entity.id), "name": entity.label} | _common(entity.marking, ext)
    stix_type = _ENTITY_TYPES[entity.kind]
    if stix_type == "identity":
        cls = "individual" if entity.kind is EntityKind.PERSON else "organization"
        return stix2.v21.Identity(identity_class=cls, **kwargs)
    if stix_type == "location":
        return stix2.v21.Location(country="ZA", **kwargs)
    return stix2.v21.Infrastructure(infrastructure_types=["unknown"], **kwargs)


def _strictest(markings: Sequence[Marking]) -> Marking:
    return Marking(
        max(m.tlp for m in markings),
        max(m.classification for m in markings),
        frozenset().union(*(m.caveats for m in markings)),
    )


def to_bundle(exchange: Exchange) -> Any:
    """The STIX 2.1 bundle for `exchange`, with the marking and extension definitions it uses.

    A link is marked as its asserting item (or, when that item is not in the bundle, as the
    strictest of its ends), so a link is never easier to share than what it connects.
    """
    entity_by_id = {e.id: e for e in exchange.entities}
    item_by_id = {i.id: i for i in exchange.items}
    objects: list[Any] = [khusela_identity(), extension_definition()]
    used = {i.marking.tlp for i in exchange.items} | {t.marking.tlp for t in exchange.tombstones}
    used |= {e.marking.tlp for e in exchange.entities}
    for item in exchange.items:
        objects += _item_objects(item)
    for stone in exchange.tombstones:
        objects += _tombstone_objects(stone)
    objects += [_entity_object(e) for e in exchange.entities]
    links: list[tuple[uuid.UUID, uuid.UUID, str, str, str, str, list[Marking]]] = []
    for el in exchange.entity_links:
        src, dst = entity_by_id.get(el.source), entity_by_id.get(el.target)
        if src is None or dst is None:
            raise ValueError(f"link {el.id}: export both entities it connects")
        ends = [src.marking, dst.marking]
        links.append(
            (
                el.id,
                el.asserted_by,
                el.relation,
                _entity_ref(src.kind, src.id),
                _entity_ref(dst.kind, dst.id),
                "entity_link",
                ends,
            )
        )
    for il in exchange.item_links:
        ent = entity_by_id.get(il.entity)
        if ent is None:
            raise ValueError(f"link {il.id}: export the entity it mentions")
        ends = [ent.marking] + ([item_by_id[il.item].marking] if il.item in item_by_id else [])
        links.append(
            (
                il.id,
                il.asserted_by,
                il.relation,
                _entity_ref(ent.kind, ent.id),
                f"report--{il.item}",
                "item_link",
                ends,
            )
        )
    for link_id, asserted_by, relation, source, target, kind, ends in links:
        asserting = item_by_id.get(asserted_by)
        marking = asserting.marking if asserting else _strictest(ends)
        used.add(marking.tlp)
        ext = _marking_ext(marking, kind) | {"asserted_by": str(asserted_by)}
        stamp = {"created": asserting.created_at, "modified": asserting.updated_at} if asserting else {}
        objects.append(
            stix2.v21.Relationship(
                id=f"relationship--{link_id}",
                **stamp,
                relationship_type=relation,
                source_ref=source,
                target_ref=target,
                **_common(marking, ext),
            )
        )
    objects += [tlp_marking(t) for t in sorted(used)]
    unique = {(o["id"], o.get("modified", "")): o for o in objects}
    return stix2.v21.Bundle(objects=list(unique.values()))


def to_json(exchange: Exchange) -> dict[str, Any]:
    """The bundle as plain JSON data (what federation signs and sends)."""
    data: dict[str, Any] = json.loads(to_bundle(exchange).serialize())
    return data


# ---------------------------------------------------------------- import


def _parse(data: str | Mapping[str, Any]) -> Any:
    try:
        bundle = stix2.parse(data if isinstance(data, str) else dict(data), allow_custom=False)
    except (STIXError, ValueError, TypeError, KeyError) as exc:
        raise BundleRejected(f"not a valid STIX 2.1 bundle: {exc}") from None
    if bundle.get("type") != "bundle":
        raise BundleRejected("expected a STIX bundle")
    return bundle


def _tlp(obj: Any) -> Tlp:
    found = {TLP_BY_MARKING_ID[r] for r in obj.get("object_marking_refs", []) if r in TLP_BY_MARKING_ID}
    if len(found) != 1:
        what = "no TLP marking" if not found else "conflicting TLP markings"
        raise BundleRejected(f"{obj['id']} has {what}; every shared object must carry exactly one")
    return found.pop()


def _ext(obj: Any) -> dict[str, Any] | None:
    ext = obj.get("extensions", {}).get(EXTENSION_ID)
    return None if ext is None else dict(ext)


def _marking(obj: Any, ext: Mapping[str, Any]) -> Marking:
    if "classification" not in ext:
        raise BundleRejected(f"{obj['id']} lacks its classification")
    return Marking(_tlp(obj), Clearance.parse(ext["classification"]), frozenset(ext.get("caveats", ())))


def _uuid(ref: str) -> uuid.UUID:
    return uuid.UUID(ref.split("--", 1)[1])


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _observable(indicator: Any) -> Observable:
    pattern: str = indicator["pattern"]
    for kind, path in PATTERNS.items():
        head = f"[{path} = '"
        if pattern.startswith(head) and pattern.endswith("']"):
            raw = pattern[len(head) : -2]
            return Observable(kind, raw.replace("\\'", "'").replace("\\\\", "\\"))
    raise BundleRejected(f"{indicator['id']}: pattern {pattern!r} is not one Khusela reads")


def _item(report: Any, ext: Mapping[str, Any], indicators: Mapping[str, Any]) -> IntelItem:
    grade = None
    if "handling" in ext:
        grade = Grade(
            Reliability.parse(ext["source_reliability"]),
            Credibility.parse(ext["information_credibility"]),
            HandlingCode.parse(ext["handling"]),
        )
    start = _dt(ext.get("window_start"))
    return IntelItem(
        id=_uuid(report["id"]),
        version=int(ext["version"]),
        title=report["name"],
        body=report.get("description", ""),
        category=Category(ext["category"]),
        originator=Originator(ext["origin_instance"], ext["origin_agency"], ext.get("author")),
        marking=_marking(report, ext),
        created_at=report["created"],
        updated_at=report["modified"],
        grade=grade,
        locality=Locality(
            ext.get("province"), ext.get("municipality"), ext.get("ward"), tuple(ext.get("cells", ()))
        ),
        window=TimeWindow(start, _dt(ext.get("window_end"))) if start else None,
        sharing_groups=frozenset(ext.get("sharing_groups", ())),
        distribution=frozenset(ext.get("distribution", ())),
        review_at=_dt(ext["review_at"]),
        human_source=bool(ext.get("human_source", False)),
        attachments=tuple(
            Attachment(a["name"], a["sha256"], int(a["size"]), bool(a.get("releasable", False)))
            for a in ext.get("attachments", ())
        ),
        observables=tuple(_observable(indicators[r]) for r in report["object_refs"] if r in indicators),
        sanitised=bool(ext.get("sanitised", False)),
        sanitised_note=ext.get("sanitised_note"),
        received_from=ext.get("received_from"),
    )


def _tombstone(report: Any, ext: Mapping[str, Any]) -> Tombstone:
    return Tombstone(
        _uuid(report["id"]),
        int(ext["version"]),
        ext["origin_instance"],
        _marking(report, ext),
        report["modified"],
        ext.get("reason", ""),
        frozenset(ext.get("distribution", ())),
        ext.get("received_from"),
    )


def _entity(obj: Any, ext: Mapping[str, Any]) -> Entity:
    activity = ext.get("criminal_activity")
    return Entity(
        _uuid(obj["id"]),
        EntityKind(ext["entity_kind"]),
        obj["name"],
        _marking(obj, ext),
        dict(ext.get("attributes", {})),
        ext.get("justification"),
        Category(activity) if activity else None,
        ext.get("case_ref"),
    )


def _link(obj: Any, ext: Mapping[str, Any]) -> EntityLink | ItemLink:
    _marking(obj, ext)
    args = (
        _uuid(obj["id"]),
        _uuid(obj["source_ref"]),
        _uuid(obj["target_ref"]),
        obj["relationship_type"],
        uuid.UUID(ext["asserted_by"]),
    )
    return EntityLink(*args) if ext["object_kind"] == "entity_link" else ItemLink(*args)


def _decode(obj: Any, ext: Mapping[str, Any], indicators: Mapping[str, Any]) -> object:
    what = ext.get("object_kind")
    if what == "item":
        return _item(obj, ext, indicators)
    if what == "tombstone":
        return _tombstone(obj, ext)
    if what == "entity":
        return _entity(obj, ext)
    if what in {"entity_link", "item_link"}:
        return _link(obj, ext)
    raise BundleRejected(f"{obj['id']}: unknown Khusela object kind {what!r}")


def from_bundle(data: str | Mapping[str, Any]) -> Exchange:
    """Read a bundle back into the model, refusing it whole if any Khusela object is unmarked.

    Standard objects that only support a Khusela object (agency identities, locations of
    items, marking and extension definitions) are read through their parent.
    """
    bundle = _parse(data)
    indicators: dict[str, Any] = {}
    pending: list[tuple[Any, dict[str, Any]]] = []
    for obj in bundle.get("objects", []):
        if obj["type"] == "indicator":
            _tlp(obj)
            indicators[obj["id"]] = obj
            continue
        ext = _ext(obj)
        if obj["type"] == "report" and ext is None:
            raise BundleRejected(
                f"{obj['id']} lacks the Khusela handling extension (classification, grading)"
            )
        if ext is not None:
            pending.append((obj, ext))
    try:
        decoded = [_decode(obj, ext, indicators) for obj, ext in pending]
    except BundleRejected:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise BundleRejected(f"a Khusela object in the bundle is incomplete or invalid: {exc}") from None
    return Exchange(
        tuple(d for d in decoded if isinstance(d, IntelItem)),
        tuple(d for d in decoded if isinstance(d, Tombstone)),
        tuple(d for d in decoded if isinstance(d, Entity)),
        tuple(d for d in decoded if isinstance(d, EntityLink)),
        tuple(d for d in decoded if isinstance(d, ItemLink)),
    )
