"""Items, entities, links and requests for information keep their invariants."""

from __future__ import annotations

import uuid
from dataclasses import FrozenInstanceError
from datetime import timedelta

import pytest

from khusela.identity.model import Clearance, Jurisdiction, Principal, Role
from khusela.identity.policy import Action, can
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import (
    Attachment,
    Locality,
    Originator,
    RequestForInformation,
    RfiAnswer,
    RfiStatus,
    TimeWindow,
    policy_resource,
)
from tests.unit.intel.builders import T0, item, person


def test_review_date_defaults_to_five_years_after_creation() -> None:
    review = item().review_date
    assert review.date() == T0.replace(year=2031).date()
    explicit = T0 + timedelta(days=30)
    assert item(review_at=explicit).review_date == explicit


def test_items_are_immutable_and_revise_makes_the_next_version() -> None:
    first = item()
    with pytest.raises(FrozenInstanceError):
        first.title = "x"  # type: ignore[misc]
    later = T0 + timedelta(hours=2)
    second = first.revise(later, title="Buyer identified")
    assert (second.version, second.title, second.updated_at) == (2, "Buyer identified", later)
    assert (first.version, first.title) == (1, "Zama-zama syndicate moving gold through Riverlea")
    assert second.id == first.id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 0}, "version starts at 1"),
        ({"title": "  "}, "needs a title"),
        ({"created_at": T0.replace(tzinfo=None)}, "time zone"),
        ({"updated_at": T0 - timedelta(seconds=1)}, "before it was created"),
    ],
)
def test_invalid_items_cannot_be_built(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        item(**changes)


def test_windows_cells_and_attachments_are_validated() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        TimeWindow(T0, T0 - timedelta(hours=1))
    with pytest.raises(ValueError, match="not an H3 cell"):
        Locality(cells=("not-a-cell",))
    with pytest.raises(ValueError, match="64 lower-case hex"):
        Attachment("x.pdf", "ABC", 10)
    with pytest.raises(ValueError, match="negative"):
        Attachment("x.pdf", "a" * 64, -1)


def test_entity_attributes_cannot_be_changed_after_construction() -> None:
    entity = person(attributes={"alias": "Gold", "age": "34"})
    assert list(entity.attributes) == ["age", "alias"]
    with pytest.raises(TypeError):
        entity.attributes["alias"] = "other"  # type: ignore[index]


def test_need_to_know_is_decided_by_the_one_access_policy() -> None:
    """An intel item maps to a policy Resource: clearance and sharing groups decide."""
    secret = item(
        marking=Marking(Tlp.AMBER, Clearance.SECRET), sharing_groups=frozenset({"mining-task-team"})
    )
    analyst = Principal(
        "u1",
        "thandi",
        frozenset({Role.INTEL_ANALYST}),
        Clearance.SECRET,
        "metro-ekurhuleni",
        jurisdiction=Jurisdiction(provinces=frozenset({"GP"})),
        sharing_groups=frozenset({"mining-task-team"}),
    )
    resource = policy_resource(secret, analyst)
    assert resource.agency_id == "saps-ci-jhb"
    assert resource.cell == secret.locality.cells[0]
    assert can(analyst, Action.INTEL_READ, resource)
    outsider = Principal("u2", "pieter", analyst.roles, Clearance.SECRET, "metro-ekurhuleni")
    assert not can(outsider, Action.INTEL_READ, policy_resource(secret, outsider))
    low = Principal("u3", "lindi", analyst.roles, Clearance.CONFIDENTIAL, "saps-ci-jhb")
    assert not can(low, Action.INTEL_READ, policy_resource(secret, low))


def _rfi() -> RequestForInformation:
    return RequestForInformation(
        uuid.uuid4(),
        "Who buys gold at the Riverlea shaft?",
        Originator("gauteng", "metro-jhb", "a1"),
        T0,
        Marking(Tlp.GREEN),
    )


def test_a_request_for_information_is_asked_assigned_then_answered_with_its_own_marking() -> None:
    rfi = _rfi()
    assert rfi.status is RfiStatus.ASKED
    assigned = rfi.assign("saps-ci-jhb")
    answer = RfiAnswer(
        "A registered scrap dealer; see item 0b5d.",
        Marking(Tlp.AMBER_STRICT, Clearance.SECRET),
        Originator("gauteng", "saps-ci-jhb", "a9"),
        T0 + timedelta(days=2),
    )
    done = assigned.respond(answer)
    assert done.status is RfiStatus.ANSWERED
    assert done.answer is not None
    assert done.answer.marking.tlp is Tlp.AMBER_STRICT
    assert rfi.marking.tlp is Tlp.GREEN  # the question stays at its own, lower marking
    with pytest.raises(ValueError, match="already been answered"):
        done.assign("other")


def test_only_the_assigned_agency_answers_and_only_after_assignment() -> None:
    rfi = _rfi()
    answer = RfiAnswer("x", Marking(Tlp.GREEN), Originator("gauteng", "ssa", None), T0 + timedelta(days=1))
    with pytest.raises(ValueError, match="assign the request"):
        rfi.respond(answer)
    with pytest.raises(ValueError, match="only the agency"):
        rfi.assign("saps-ci-jhb").respond(answer)
    early = RfiAnswer("x", Marking(Tlp.GREEN), Originator("gauteng", "ssa", None), T0 - timedelta(days=1))
    with pytest.raises(ValueError, match="predate"):
        rfi.assign("ssa").respond(early)
