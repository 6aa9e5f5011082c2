"""The assignment state machine: what a unit may report, in which order, and what follows."""

from __future__ import annotations

import itertools

import pytest

from khusela.panic.dispatch import (
    OPEN_ASSIGNMENT,
    RESPONDER_MOVES,
    UNIT_STATUS_AFTER,
    AssignmentStatus,
    alert_status_after,
    can_advance,
)
from khusela.panic.model import AlertStatus, UnitStatus, can_move

S = AssignmentStatus
ALLOWED = {
    (S.ASSIGNED, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, S.EN_ROUTE),
    (S.EN_ROUTE, S.ON_SCENE),
    (S.ON_SCENE, S.RESOLVED),
    (S.ASSIGNED, S.CANCELLED),
    (S.ACKNOWLEDGED, S.CANCELLED),
    (S.EN_ROUTE, S.CANCELLED),
    (S.ON_SCENE, S.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair_of_states(current: AssignmentStatus, target: AssignmentStatus) -> None:
    assert can_advance(current, target) == ((current, target) in ALLOWED)


def test_the_responder_path_in_order() -> None:
    path = [S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE, S.RESOLVED]
    assert all(can_advance(a, b) for a, b in itertools.pairwise(path))
    assert set(path[1:]) == RESPONDER_MOVES


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.ASSIGNED, S.ON_SCENE),
        (S.ASSIGNED, S.RESOLVED),
        (S.ACKNOWLEDGED, S.RESOLVED),
        (S.EN_ROUTE, S.RESOLVED),
    ],
)
def test_no_step_may_be_skipped(current: AssignmentStatus, target: AssignmentStatus) -> None:
    assert not can_advance(current, target)


def test_no_step_goes_back_and_closed_assignments_stay_closed() -> None:
    order = [S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE, S.RESOLVED]
    for later, earlier in itertools.combinations(reversed(order), 2):
        assert not can_advance(later, earlier)
    for closed in (S.RESOLVED, S.CANCELLED):
        assert closed not in OPEN_ASSIGNMENT
        assert not any(can_advance(closed, t) for t in S)


def test_units_are_freed_when_an_assignment_ends() -> None:
    assert UNIT_STATUS_AFTER[S.RESOLVED] is UnitStatus.AVAILABLE
    assert UNIT_STATUS_AFTER[S.CANCELLED] is UnitStatus.AVAILABLE
    assert {UNIT_STATUS_AFTER[s] for s in OPEN_ASSIGNMENT} == {
        UnitStatus.ASSIGNED,
        UnitStatus.EN_ROUTE,
        UnitStatus.ON_SCENE,
    }


def test_the_alert_follows_its_most_advanced_unit_and_never_goes_back() -> None:
    assert alert_status_after(AlertStatus.DISPATCHED, S.ACKNOWLEDGED) is AlertStatus.DISPATCHED
    assert alert_status_after(AlertStatus.DISPATCHED, S.EN_ROUTE) is AlertStatus.EN_ROUTE
    assert alert_status_after(AlertStatus.EN_ROUTE, S.ON_SCENE) is AlertStatus.ON_SCENE
    assert alert_status_after(AlertStatus.ON_SCENE, S.EN_ROUTE) is AlertStatus.ON_SCENE, "a second unit"
    assert alert_status_after(AlertStatus.RESOLVED, S.ON_SCENE) is AlertStatus.RESOLVED


def test_every_alert_move_the_assignments_cause_is_one_the_alert_model_allows() -> None:
    for current in (AlertStatus.DISPATCHED, AlertStatus.EN_ROUTE, AlertStatus.ON_SCENE):
        for step in S:
            after = alert_status_after(current, step)
            assert after is current or can_move(current, after)
        assert can_move(current, AlertStatus.RESOLVED), "the last unit resolving resolves the alert"
