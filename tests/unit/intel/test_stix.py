"""STIX 2.1 export and import: standard objects partners can read, markings that survive."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khusela.intel.errors import BundleRejected
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import (
    Category,
    EntityKind,
    EntityLink,
    IntelItem,
    ItemLink,
    Observable,
    ObservableKind,
    tombstone,
)
from khusela.intel.sanitise import sanitise
from khusela.intel.stix import Exchange, from_bundle, to_bundle, to_json
from khusela.intel.stix_extension import SCHEMA
from khusela.intel.stix_ids import EXTENSION_ID, TLP2_MARKING_IDS
from tests.unit.intel.builders import T0, human_item, item, person
from tests.unit.intel.strategies import items


def _objects(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in data["objects"] if o["type"] == kind]


def test_tlp_2_marking_ids_are_the_ones_oasis_published() -> None:
    assert TLP2_MARKING_IDS[Tlp.CLEAR] == "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    assert TLP2_MARKING_IDS[Tlp.AMBER_STRICT] == "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    assert TLP2_MARKING_IDS[Tlp.RED] == "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def test_an_item_becomes_a_marked_report_with_its_agency_and_location() -> None:
    data = to_json(Exchange(items=(item(),)))
    (report,) = _objects(data, "report")
    assert report["id"] == "report--0b5d8f9e-3a41-4c1e-9e2f-5a7d6c8b9a01"
    assert report["object_marking_refs"] == [TLP2_MARKING_IDS[Tlp.AMBER]]
    assert report["labels"] == ["illegal_mining"]
    ext = report["extensions"][EXTENSION_ID]
    assert ext["classification"] == "confidential"
    assert ext["caveats"] == ["LEO"]
    assert (ext["source_reliability"], ext["information_credibility"], ext["handling"]) == ("B", 2, "P")
    assert (ext["version"], ext["origin_instance"]) == (1, "gauteng")
    assert ext["review_at"].startswith("2031-03-")
    (location,) = _objects(data, "location")
    assert (location["country"], location["administrative_area"]) == ("ZA", "GP")
    assert -26.3 < location["latitude"] < -26.1
    assert 27.9 < location["longitude"] < 28.2
    agency = next(o for o in _objects(data, "identity") if o["name"] == "saps-ci-jhb")
    assert report["created_by_ref"] == agency["id"]
    marking_ids = {o["id"] for o in _objects(data, "marking-definition")}
    assert marking_ids == {TLP2_MARKING_IDS[Tlp.AMBER]}


def test_the_extension_is_documented_in_the_bundle_itself() -> None:
    data = to_json(Exchange(items=(item(),)))
    (definition,) = _objects(data, "extension-definition")
    assert definition["id"] == EXTENSION_ID
    assert definition["extension_types"] == ["property-extension"]
    schema = json.loads(definition["schema"])
    assert {"classification", "caveats", "source_reliability", "handling", "review_at", "version"} <= set(
        schema["properties"]
    )
    assert definition["schema"] == SCHEMA


def test_the_exported_bundle_parses_with_no_custom_content_allowed() -> None:
    text = to_bundle(Exchange(items=(human_item(),))).serialize()
    parsed = stix2.parse(text, allow_custom=False)
    assert len(parsed.objects) == len(json.loads(text)["objects"])


def test_cyber_observables_become_indicators_that_partners_can_match() -> None:
    phishing = item(
        category=Category.CYBER,
        observables=(
            Observable(ObservableKind.IPV4, "196.25.1.200"),
            Observable(ObservableKind.DOMAIN, "sars-refund.co.za"),
            Observable(ObservableKind.PHONE, "+27821234567"),
        ),
    )
    data = to_json(Exchange(items=(phishing,)))
    patterns = sorted(i["pattern"] for i in _objects(data, "indicator"))
    assert patterns == [
        "[domain-name:value = 'sars-refund.co.za']",
        "[ipv4-addr:value = '196.25.1.200']",
        "[x-khusela-phone:value = '+27821234567']",
    ]
    (report,) = _objects(data, "report")
    assert {i["id"] for i in _objects(data, "indicator")} <= set(report["object_refs"])


def test_the_source_identity_never_reaches_a_bundle() -> None:
    text = json.dumps(to_json(Exchange(items=(human_item(),))))
    assert "SRC-GP-0042" not in text
    assert "Twist Street" not in text


def test_entities_and_links_round_trip_as_identities_locations_infrastructure_and_relationships() -> None:
    it = item()
    sipho = person()
    bakkie = person(
        id=uuid.uuid4(),
        kind=EntityKind.VEHICLE,
        label="Hilux GP 123-456",
        justification=None,
        criminal_activity=None,
    )
    shaft = person(
        id=uuid.uuid4(),
        kind=EntityKind.MINE_SITE,
        label="Riverlea shaft 3",
        justification=None,
        criminal_activity=None,
    )
    links = (
        EntityLink(uuid.uuid4(), sipho.id, bakkie.id, "uses", it.id),
        EntityLink(uuid.uuid4(), sipho.id, shaft.id, "located-at", it.id),
    )
    mention = (ItemLink(uuid.uuid4(), sipho.id, it.id, "mentioned-in", it.id),)
    exchange = Exchange(items=(it,), entities=(sipho, bakkie, shaft), entity_links=links, item_links=mention)
    data = to_json(exchange)
    assert {o["identity_class"] for o in _objects(data, "identity") if o["name"] == sipho.label} == {
        "individual"
    }
    assert len(_objects(data, "infrastructure")) == 1
    assert len(_objects(data, "relationship")) == 3
    assert from_bundle(data) == exchange


def test_a_link_is_never_marked_looser_than_its_ends_when_its_item_is_absent() -> None:
    secret = person(marking=Marking(Tlp.RED))
    other = person(id=uuid.uuid4(), marking=Marking(Tlp.GREEN))
    link = EntityLink(uuid.uuid4(), secret.id, other.id, "knows", uuid.uuid4())
    data = to_json(Exchange(entities=(secret, other), entity_links=(link,)))
    (rel,) = _objects(data, "relationship")
    assert rel["object_marking_refs"] == [TLP2_MARKING_IDS[Tlp.RED]]


def test_revoked_items_travel_as_revoked_reports_keeping_their_marking() -> None:
    stone = tombstone(item(version=4), T0, "source withdrew the report")
    data = to_json(Exchange(tombstones=(stone,)))
    (report,) = _objects(data, "report")
    assert report["revoked"] is True
    assert "Zama" not in json.dumps(data)
    assert from_bundle(data).tombstones == (stone,)


def _strip(data: dict[str, Any], kind: str, key: str) -> dict[str, Any]:
    for obj in data["objects"]:
        if obj["type"] == kind:
            obj.pop(key, None)
    return data


def test_a_report_without_tlp_is_refused() -> None:
    data = _strip(to_json(Exchange(items=(item(),))), "report", "object_marking_refs")
    with pytest.raises(BundleRejected, match="no TLP marking"):
        from_bundle(data)


def test_a_report_without_the_handling_extension_is_refused() -> None:
    data = _strip(to_json(Exchange(items=(item(),))), "report", "extensions")
    with pytest.raises(BundleRejected, match="lacks the Khusela handling extension"):
        from_bundle(data)


def test_a_report_without_classification_is_refused() -> None:
    data = to_json(Exchange(items=(item(),)))
    for obj in _objects(data, "report"):
        del obj["extensions"][EXTENSION_ID]["classification"]
    with pytest.raises(BundleRejected, match="classification"):
        from_bundle(data)


def test_conflicting_tlp_markings_are_refused() -> None:
    data = to_json(Exchange(items=(item(),)))
    _objects(data, "report")[0]["object_marking_refs"].append(TLP2_MARKING_IDS[Tlp.CLEAR])
    with pytest.raises(BundleRejected, match="conflicting TLP"):
        from_bundle(data)


def test_an_unmarked_indicator_is_refused() -> None:
    it = item(observables=(Observable(ObservableKind.IPV4, "10.0.0.1"),))
    data = _strip(to_json(Exchange(items=(it,))), "indicator", "object_marking_refs")
    with pytest.raises(BundleRejected, match="indicator--"):
        from_bundle(data)


def test_custom_properties_and_garbage_are_refused() -> None:
    data = to_json(Exchange(items=(item(),)))
    _objects(data, "report")[0]["x_secret_note"] = "smuggled"
    with pytest.raises(BundleRejected, match=r"not a valid STIX 2\.1 bundle"):
        from_bundle(data)
    with pytest.raises(BundleRejected, match=r"not a valid STIX 2\.1 bundle"):
        from_bundle("{not json")
    with pytest.raises(BundleRejected, match="expected a STIX bundle"):
        from_bundle(json.dumps(_objects(to_json(Exchange(items=(item(),))), "report")[0]))


def test_tlp_1_markings_from_older_partners_are_read_as_their_tlp_2_level() -> None:
    data = to_json(Exchange(items=(item(marking=Marking(Tlp.GREEN)),)))
    _objects(data, "report")[0]["object_marking_refs"] = [stix2.TLP_GREEN.id]
    assert from_bundle(data).items[0].marking.tlp is Tlp.GREEN


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(items(), min_size=1, max_size=3, unique_by=lambda i: i.id))
def test_round_trip_keeps_every_marking_and_field(batch: list[IntelItem]) -> None:
    """Everything but the source's identity, which by design never leaves in STIX."""
    exported = [replace(i, source_ref=None, source_description=None) for i in batch]
    back = from_bundle(json.dumps(to_json(Exchange(items=tuple(exported)))))
    assert [(i.marking, i.grade, i.review_date, i.version) for i in back.items] == [
        (i.marking, i.grade, i.review_date, i.version) for i in exported
    ]
    assert back.items == tuple(exported)


@settings(max_examples=50, deadline=None)
@given(items())
def test_sanitised_items_round_trip_exactly(it: IntelItem) -> None:
    clean = sanitise(it)
    assert from_bundle(to_json(Exchange(items=(clean,)))).items == (clean,)


def test_exporting_twice_yields_the_same_objects_so_partners_deduplicate() -> None:
    first = item(observables=(Observable(ObservableKind.IPV4, "10.1.2.3"),))
    second = item(id=uuid.uuid4(), title="Second report from the same agency")
    exchange = Exchange(items=(first, second))
    a, b = to_json(exchange), to_json(exchange)
    assert a["objects"] == b["objects"]
    agencies = [o for o in _objects(a, "identity") if o["name"] == "saps-ci-jhb"]
    assert len(agencies) == 1
