"""Property: every intel read path returns exactly what the policy allows, for random callers
over a random population, on SQLite and PostgreSQL."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khusela.identity.model import Clearance, Principal, Role
from khusela.intel import access
from khusela.store.database import Database
from tests.integration.intel.agreement import (
    AGENCIES,
    GROUPS,
    ROLES,
    USERS,
    check,
    check_federation,
    populate,
)

principals = st.builds(
    Principal,
    user_id=st.sampled_from(USERS),
    username=st.just("probe"),
    roles=st.frozensets(st.sampled_from(ROLES), min_size=1, max_size=2),
    clearance=st.sampled_from(list(Clearance)),
    agency_id=st.sampled_from([*AGENCIES, None]),
    sharing_groups=st.frozensets(st.sampled_from(GROUPS), max_size=2),
)


def test_every_read_path_agrees_with_the_policy(database: Database) -> None:
    with database.write() as conn:
        pop = populate(conn, 120)
    calls = {"n": 0}

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(principal=principals)
    def agree(principal: Principal) -> None:
        calls["n"] += 1
        with database.write() as conn:
            assert check(conn, pop, principal, export=calls["n"] % 10 == 1) == []

    agree()
    with database.read() as conn:
        assert check_federation(conn, pop) == []


def test_an_analyst_of_the_owning_agency_sees_more_than_a_partner(database: Database) -> None:
    """Guards against a vacuous agreement: the population gives different callers different views."""
    with database.write() as conn:
        pop = populate(conn, 120)

    analyst = Principal("u-1", "a", frozenset({Role.INTEL_ANALYST}), Clearance.TOP_SECRET, "ag-ssa")
    partner = Principal("u-2", "p", frozenset({Role.COMMUNITY_PARTNER}), Clearance.TOP_SECRET, "ag-cpf")
    seen = {
        who.username: {i for i, s in pop.by_id.items() if access.can_read(who, s.shareable(), pop.now)}
        for who in (analyst, partner)
    }
    assert 0 < len(seen["p"]) < len(seen["a"]) < len(pop.items)
