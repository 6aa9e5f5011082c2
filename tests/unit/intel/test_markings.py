"""TLP 2.0, caveats, export ceilings and the console banner."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khusela.identity.model import Clearance
from khusela.intel.grading import Grade
from khusela.intel.markings import (
    LAW_ENFORCEMENT_PARTNERS,
    MUNICIPAL_DASHBOARD,
    Caveat,
    GroupCeiling,
    Marking,
    Tlp,
    banner,
    may_export,
    parse_caveat,
)
from tests.unit.intel.strategies import markings


@pytest.mark.parametrize(
    "text",
    [
        "AMBER+STRICT",
        "amber+strict",
        "TLP:AMBER+STRICT",
        " tlp: Amber+Strict ",
        "amber strict",
        "AMBER_STRICT",
    ],
)
def test_amber_strict_is_read_however_analysts_type_it(text: str) -> None:
    assert Tlp.parse(text) is Tlp.AMBER_STRICT


def test_levels_are_ordered_from_widest_to_narrowest_audience() -> None:
    assert Tlp.CLEAR < Tlp.GREEN < Tlp.AMBER < Tlp.AMBER_STRICT < Tlp.RED
    assert [t.label for t in Tlp] == ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]
    assert Tlp.AMBER_STRICT.code == "amber+strict"


@pytest.mark.parametrize("text", ["WHITE", "TLP:PURPLE", "", "amber+", "AMBER+STRICTER"])
def test_unknown_levels_are_refused_with_the_choices(text: str) -> None:
    with pytest.raises(ValueError, match="choose from TLP:CLEAR"):
        Tlp.parse(text)


def test_each_level_says_who_may_receive_it() -> None:
    assert "anyone" in Tlp.CLEAR.audience
    assert "not the public" in Tlp.GREEN.audience
    assert "clients" in Tlp.AMBER.audience
    assert "organisation only" in Tlp.AMBER_STRICT.audience
    assert "named recipients" in Tlp.RED.audience


def test_only_clear_green_and_amber_may_leave_an_instance() -> None:
    assert [t for t in Tlp if t.leaves_instance] == [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER]


def test_caveats_accept_the_closed_set_and_prefixed_local_codes() -> None:
    assert parse_caveat(" leo ") == "LEO"
    assert parse_caveat("x-ops_kubu") == "X-OPS_KUBU"
    for bad in ["NOFORN", "LE0", "X-", "X-a b", "OPS_KUBU"]:
        with pytest.raises(ValueError, match="unknown caveat"):
            parse_caveat(bad)
    assert "consent" in Caveat.ORIGINATOR_CONTROLLED.meaning


def test_a_marking_refuses_unnormalised_caveats() -> None:
    with pytest.raises(ValueError, match="capitals"):
        Marking(Tlp.GREEN, caveats=frozenset({"leo"}))
    assert Marking.parse("tlp:green", "secret", ["leo"]) == Marking(
        Tlp.GREEN, Clearance.SECRET, frozenset({"LEO"})
    )


def test_municipal_dashboards_get_green_aggregates_and_never_single_items() -> None:
    green = Marking(Tlp.GREEN)
    assert not may_export(green, MUNICIPAL_DASHBOARD)
    assert may_export(green, MUNICIPAL_DASHBOARD, aggregate=True)
    assert not may_export(Marking(Tlp.AMBER), MUNICIPAL_DASHBOARD, aggregate=True)
    assert not may_export(Marking(Tlp.GREEN, Clearance.RESTRICTED), MUNICIPAL_DASHBOARD, aggregate=True)
    assert not may_export(Marking(Tlp.GREEN, caveats=frozenset({"LEO"})), MUNICIPAL_DASHBOARD, aggregate=True)


def test_law_enforcement_partners_take_amber_but_not_strict_or_originator_controlled() -> None:
    assert may_export(
        Marking(Tlp.AMBER, Clearance.SECRET, frozenset({"LEO", "POPIA"})), LAW_ENFORCEMENT_PARTNERS
    )
    assert not may_export(Marking(Tlp.AMBER_STRICT), LAW_ENFORCEMENT_PARTNERS)
    assert not may_export(Marking(Tlp.AMBER, caveats=frozenset({"ORCON"})), LAW_ENFORCEMENT_PARTNERS)
    assert not may_export(Marking(Tlp.GREEN, Clearance.TOP_SECRET), LAW_ENFORCEMENT_PARTNERS)


ceilings = st.builds(
    GroupCeiling,
    st.sampled_from(Tlp),
    st.sampled_from(Clearance),
    st.frozensets(st.sampled_from(["LEO", "POPIA"])),
    st.booleans(),
)


@given(markings, ceilings, st.booleans())
def test_export_never_exceeds_the_ceiling(marking: Marking, ceiling: GroupCeiling, aggregate: bool) -> None:
    if may_export(marking, ceiling, aggregate=aggregate):
        assert marking.tlp <= ceiling.tlp
        assert marking.classification <= ceiling.classification
        assert marking.caveats <= ceiling.accepted_caveats
        assert aggregate or not ceiling.aggregate_only


@given(markings, ceilings)
def test_loosening_a_marking_never_blocks_an_export(marking: Marking, ceiling: GroupCeiling) -> None:
    looser = Marking(Tlp(max(0, marking.tlp - 1)), Clearance(max(0, marking.classification - 1)))
    if may_export(marking, ceiling, aggregate=True):
        assert may_export(looser, ceiling, aggregate=True)


def test_banner_puts_tlp_classification_caveats_grade_and_handling_in_that_order() -> None:
    marking = Marking(Tlp.AMBER_STRICT, Clearance.CONFIDENTIAL)
    assert banner(marking, Grade.parse("B2 P")) == "TLP:AMBER+STRICT // CONFIDENTIAL // B2 // P"
    with_caveats = Marking(Tlp.RED, Clearance.TOP_SECRET, frozenset({"POPIA", "LEO"}))
    assert banner(with_caveats, Grade.parse("a1c")) == "TLP:RED // TOP SECRET // LEO/POPIA // A1 // C"
    assert banner(Marking(Tlp.CLEAR)) == "TLP:CLEAR // UNCLASSIFIED"
