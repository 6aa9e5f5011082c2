"""The handling rules refuse with reasons an analyst can act on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from khusela.core.errors import InvalidInput
from khusela.identity.model import AgencyType, Clearance, Principal, Role
from khusela.intel.errors import IntelRuleBroken
from khusela.intel.grading import Grade
from khusela.intel.handling import (
    PURGE_GRACE,
    REVIEW_NOTICE,
    check_entity,
    check_person_record,
    check_special_attributes,
    check_submission,
    needs_sanitising,
    release_for_imminent_danger,
    review_state,
)
from khusela.intel.model import EntityKind
from khusela.intel.sanitise import sanitise
from tests.unit.intel.builders import T0, human_item, item, person


def test_rule_errors_are_invalid_input_so_the_api_answers_422() -> None:
    assert issubclass(IntelRuleBroken, InvalidInput)
    assert IntelRuleBroken.status == 422


def test_a_person_needs_a_reasonable_suspicion_of_a_named_crime() -> None:
    check_person_record(person())
    with pytest.raises(IntelRuleBroken, match="reasonable-suspicion justification"):
        check_person_record(person(justification="suspect"))
    with pytest.raises(IntelRuleBroken, match="reasonable-suspicion justification"):
        check_person_record(person(justification=None))
    with pytest.raises(IntelRuleBroken, match="name the criminal activity"):
        check_person_record(person(criminal_activity=None))


def test_non_person_entities_need_no_suspicion() -> None:
    bakkie = person(
        kind=EntityKind.VEHICLE,
        label="White Toyota Hilux GP 123-456",
        justification=None,
        criminal_activity=None,
    )
    check_person_record(bakkie)


def test_political_religious_and_social_views_need_an_open_case() -> None:
    views = person(
        attributes={"union_membership": "AMCU", "Religion": "x", "alias": "Gold"}, case_ref="CAS 12/3/2026"
    )
    with pytest.raises(IntelRuleBroken, match="Religion, union_membership may be recorded only when"):
        check_special_attributes(views, open_cases=set())
    with pytest.raises(IntelRuleBroken, match="open case"):
        check_special_attributes(person(attributes={"ethnicity": "x"}), open_cases={"CAS 12/3/2026"})
    check_special_attributes(views, open_cases={"CAS 12/3/2026"})
    check_special_attributes(person(attributes={"alias": "Gold"}), open_cases=set())


def test_check_entity_applies_both_rules() -> None:
    with pytest.raises(IntelRuleBroken, match="criminal activity"):
        check_entity(person(criminal_activity=None), open_cases=set())
    with pytest.raises(IntelRuleBroken, match="political_affiliation"):
        check_entity(person(attributes={"political_affiliation": "x"}), open_cases=set())


def test_submission_needs_the_full_grade_and_a_registered_human_source() -> None:
    check_submission(item())
    with pytest.raises(IntelRuleBroken, match=r"reliability \(A-F\).*credibility \(1-6\).*handling code"):
        check_submission(item(grade=None))
    with pytest.raises(IntelRuleBroken, match="source's registration"):
        check_submission(item(human_source=True))


def test_handling_c_or_a_human_source_is_sanitised_beyond_its_agency() -> None:
    plain = item()
    assert not needs_sanitising(plain, "metro-jhb")
    conditions = item(grade=Grade.parse("B2 C"))
    assert needs_sanitising(conditions, "metro-jhb")
    assert needs_sanitising(conditions, None)  # an agency of a partner instance
    assert not needs_sanitising(conditions, "saps-ci-jhb")  # its own agency sees everything
    humint = human_item()
    assert needs_sanitising(humint, "ssa-gp")
    assert not needs_sanitising(sanitise(humint), "ssa-gp")


def test_the_review_clock_runs_current_due_hidden_purge() -> None:
    it = item()
    review = it.review_date
    assert review_state(it, T0) == "current"
    assert review_state(it, review - REVIEW_NOTICE - timedelta(seconds=1)) == "current"
    assert review_state(it, review - REVIEW_NOTICE) == "due"
    assert review_state(it, review - timedelta(seconds=1)) == "due"
    assert review_state(it, review) == "hidden"
    assert review_state(it, review + PURGE_GRACE - timedelta(seconds=1)) == "hidden"
    assert review_state(it, review + PURGE_GRACE) == "purge"
    assert timedelta(days=180) == PURGE_GRACE


MAYOR = Principal(
    "u7",
    "mayor",
    frozenset({Role.MUNICIPAL_OFFICIAL}),
    Clearance.UNCLASSIFIED,
    "coj",
    AgencyType.MUNICIPALITY,
)
REASON = "Armed group plans to attack the Riverlea hostel tonight; evacuation needs the mayor."


def test_imminent_danger_release_to_a_mayor_is_recorded_for_review() -> None:
    assessment = sanitise(human_item())
    release = release_for_imminent_danger(assessment, MAYOR, REASON, T0 + timedelta(days=7), T0)
    assert (release.recipient_user_id, release.item_version, release.review_by) == (
        "u7",
        1,
        T0 + timedelta(days=7),
    )
    assert release.justification == REASON


def test_imminent_danger_release_refuses_unsanitised_unjustified_or_unreviewed() -> None:
    with pytest.raises(IntelRuleBroken, match="only a sanitised assessment"):
        release_for_imminent_danger(human_item(), MAYOR, REASON, T0 + timedelta(days=7), T0)
    with pytest.raises(IntelRuleBroken, match="state the imminent danger"):
        release_for_imminent_danger(sanitise(item()), MAYOR, "urgent", T0 + timedelta(days=7), T0)
    with pytest.raises(IntelRuleBroken, match="review date in the future"):
        release_for_imminent_danger(sanitise(item()), MAYOR, REASON, T0, T0)
    officer = Principal(
        "u8", "sgt", frozenset({Role.OPERATOR}), Clearance.SECRET, "saps-hillbrow", AgencyType.SAPS_STATION
    )
    with pytest.raises(IntelRuleBroken, match="normal sharing"):
        release_for_imminent_danger(sanitise(item()), officer, REASON, T0 + timedelta(days=7), T0)
