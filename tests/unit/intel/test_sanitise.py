"""The sanitised copy protects the source and keeps provenance; sanitising twice changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from khusela.intel.handling import needs_sanitising
from khusela.intel.model import IntelItem
from khusela.intel.sanitise import SANITISED_NOTE, sanitise
from tests.unit.intel.builders import human_item
from tests.unit.intel.strategies import items


def test_source_identity_author_and_private_attachments_are_removed() -> None:
    original = human_item()
    copy = sanitise(original)
    assert copy.source_ref is None
    assert copy.source_description is None
    assert copy.originator.author_id is None
    assert copy.originator.agency_id == "saps-ci-jhb"
    assert copy.originator.instance == "gauteng"
    assert [a.name for a in copy.attachments] == ["shaft-photo.jpg"]
    assert copy.sanitised
    assert copy.sanitised_note == SANITISED_NOTE
    assert "Twist Street" not in repr(copy)


def test_provenance_markings_and_grading_are_kept() -> None:
    original = human_item()
    copy = sanitise(original)
    assert (copy.id, copy.version, copy.marking, copy.grade) == (
        original.id,
        original.version,
        original.marking,
        original.grade,
    )
    assert copy.created_at == original.created_at
    assert copy.review_date == original.review_date
    assert copy.human_source  # recipients should know it is human-sourced, not who
    assert copy.observables == original.observables


@settings(max_examples=50, deadline=None)
@given(items())
def test_sanitising_is_idempotent_and_leaves_nothing_to_sanitise(it: IntelItem) -> None:
    once = sanitise(it)
    assert sanitise(once) == once
    assert not needs_sanitising(once, "any-other-agency")
    assert once.source_ref is None
    assert once.originator.author_id is None


def test_an_item_cannot_claim_to_be_sanitised_while_naming_its_source() -> None:
    with pytest.raises(ValueError, match="marked sanitised cannot carry"):
        human_item(sanitised=True)
