"""The access policy as a table, and `read_filter` agreeing with `can` on every row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    create_engine,
    exists,
    insert,
    select,
)

from khusela.identity.model import Clearance, Jurisdiction, Principal, Role
from khusela.identity.policy import GRANTS, Action, Columns, Resource, Scope, can, read_filter, scope_of

GP = Jurisdiction(provinces=frozenset({"GP"}))
JHB = Jurisdiction(municipalities=frozenset({"JHB"}))
HILLBROW = Jurisdiction(cells=frozenset({"87c0f5a2dffffff", "87c0f5a2cffffff"}))


def who(
    *roles: Role,
    agency: str | None = "pcc",
    where: Jurisdiction = GP,
    clearance: Clearance = Clearance.UNCLASSIFIED,
    groups: frozenset[str] = frozenset(),
    user: str = "u1",
) -> Principal:
    return Principal(user, user, frozenset(roles), clearance, agency, None, where, groups)


alert_in_hillbrow = Resource(
    owner_id="resident-1", agency_id=None, province="GP", municipality="JHB", cell="87c0f5a2dffffff"
)
alert_in_tshwane = Resource(owner_id="resident-2", province="GP", municipality="TSH", cell="87c0f0000ffffff")
alert_in_kzn = Resource(owner_id="resident-3", province="KZN", municipality="ETH", cell="87bd00000ffffff")
secret_report = Resource(agency_id="ssa", classification=Clearance.SECRET)
group_report = Resource(agency_id="ssa", sharing_groups=frozenset({"mining-task-team"}))
hillbrow_unit = Resource(agency_id="saps-hillbrow", province="GP", municipality="JHB", cell="87c0f5a2dffffff")

TABLE: list[tuple[str, Principal, Action, Resource | None, bool]] = [
    (
        "resident may raise a panic",
        who(Role.RESIDENT, agency=None, where=Jurisdiction()),
        Action.PANIC_RAISE,
        None,
        True,
    ),
    (
        "resident sees own alert",
        who(Role.RESIDENT, agency=None, where=Jurisdiction(), user="resident-1"),
        Action.PANIC_READ,
        alert_in_hillbrow,
        True,
    ),
    (
        "resident cannot see another's alert",
        who(Role.RESIDENT, agency=None, where=Jurisdiction(), user="resident-1"),
        Action.PANIC_READ,
        alert_in_tshwane,
        False,
    ),
    ("resident cannot dispatch", who(Role.RESIDENT, agency=None), Action.PANIC_DISPATCH, None, False),
    (
        "provincial operator sees a Gauteng alert",
        who(Role.OPERATOR),
        Action.PANIC_READ,
        alert_in_tshwane,
        True,
    ),
    ("provincial operator does not see KZN", who(Role.OPERATOR), Action.PANIC_READ, alert_in_kzn, False),
    (
        "metro operator sees own municipality",
        who(Role.OPERATOR, where=JHB),
        Action.PANIC_READ,
        alert_in_hillbrow,
        True,
    ),
    (
        "metro operator does not see Tshwane",
        who(Role.OPERATOR, where=JHB),
        Action.PANIC_READ,
        alert_in_tshwane,
        False,
    ),
    (
        "station operator sees its precinct cells",
        who(Role.OPERATOR, where=HILLBROW),
        Action.PANIC_READ,
        alert_in_hillbrow,
        True,
    ),
    (
        "station operator does not see outside the precinct",
        who(Role.OPERATOR, where=HILLBROW),
        Action.PANIC_READ,
        alert_in_tshwane,
        False,
    ),
    (
        "responder sees own agency's unit",
        who(Role.RESPONDER, agency="saps-hillbrow"),
        Action.UNIT_READ,
        hillbrow_unit,
        True,
    ),
    (
        "responder does not see other agency's unit",
        who(Role.RESPONDER, agency="saps-jeppe"),
        Action.UNIT_READ,
        hillbrow_unit,
        False,
    ),
    ("operator cannot read intelligence", who(Role.OPERATOR), Action.INTEL_READ, None, False),
    (
        "secret analyst reads own agency's secret report",
        who(Role.INTEL_ANALYST, agency="ssa", clearance=Clearance.SECRET),
        Action.INTEL_READ,
        secret_report,
        True,
    ),
    (
        "confidential analyst cannot read secret report",
        who(Role.INTEL_ANALYST, agency="ssa", clearance=Clearance.CONFIDENTIAL),
        Action.INTEL_READ,
        secret_report,
        False,
    ),
    (
        "group member reads group report",
        who(Role.OVERSIGHT, agency="saps-ci", groups=frozenset({"mining-task-team"})),
        Action.EVIDENCE_READ,
        group_report,
        True,
    ),
    (
        "non-member cannot read group report",
        who(Role.OVERSIGHT, agency="saps-ci"),
        Action.EVIDENCE_READ,
        group_report,
        False,
    ),
    (
        "originating agency reads its group report",
        who(Role.OVERSIGHT, agency="ssa"),
        Action.EVIDENCE_READ,
        group_report,
        True,
    ),
    (
        "analyst of another agency cannot read a report not granted to them",
        who(Role.INTEL_ANALYST, agency="saps-ci", clearance=Clearance.SECRET),
        Action.INTEL_READ,
        secret_report,
        False,
    ),
    (
        "a grant (e.g. TLP and distribution) widens the scope",
        who(Role.INTEL_ANALYST, agency="saps-ci", clearance=Clearance.SECRET),
        Action.INTEL_READ,
        Resource(agency_id="ssa", classification=Clearance.SECRET, granted=True),
        True,
    ),
    (
        "a grant never lifts the clearance check",
        who(Role.INTEL_ANALYST, agency="saps-ci", clearance=Clearance.CONFIDENTIAL),
        Action.INTEL_READ,
        Resource(agency_id="ssa", classification=Clearance.SECRET, granted=True),
        False,
    ),
    (
        "a grant does not give an action the roles lack",
        who(Role.OPERATOR),
        Action.INTEL_READ,
        Resource(agency_id="ssa", granted=True),
        False,
    ),
    (
        "a municipal official sees intel aggregates in the municipality",
        who(Role.MUNICIPAL_OFFICIAL, where=JHB),
        Action.INTEL_AGGREGATE,
        alert_in_hillbrow,
        True,
    ),
    (
        "a municipal official reads no intel item",
        who(Role.MUNICIPAL_OFFICIAL),
        Action.INTEL_READ,
        None,
        False,
    ),
    ("SOC analyst responds to cyber threats", who(Role.SOC_ANALYST), Action.CYBER_RESPOND, None, True),
    ("SOC analyst cannot dispatch", who(Role.SOC_ANALYST), Action.PANIC_DISPATCH, None, False),
    ("admin manages users", who(Role.ADMIN), Action.USER_MANAGE, None, True),
    ("operator cannot manage users", who(Role.OPERATOR), Action.USER_MANAGE, None, False),
    ("oversight reads the audit log", who(Role.OVERSIGHT), Action.AUDIT_READ, None, True),
    (
        "community partner cannot read the audit log",
        who(Role.COMMUNITY_PARTNER),
        Action.AUDIT_READ,
        None,
        False,
    ),
    (
        "mayor writes the risk register in the municipality",
        who(Role.MUNICIPAL_OFFICIAL, where=JHB),
        Action.RISK_WRITE,
        alert_in_hillbrow,
        True,
    ),
    (
        "mayor cannot write another municipality's register",
        who(Role.MUNICIPAL_OFFICIAL, where=JHB),
        Action.RISK_WRITE,
        alert_in_tshwane,
        False,
    ),
    (
        "roles combine: the widest scope wins",
        who(Role.RESPONDER, Role.OPERATOR, agency="saps-jeppe"),
        Action.UNIT_READ,
        hillbrow_unit,
        True,
    ),
]


@pytest.mark.parametrize(
    ("case", "principal", "action", "resource", "expected"), TABLE, ids=[row[0] for row in TABLE]
)
def test_policy_table(
    case: str, principal: Principal, action: Action, resource: Resource | None, expected: bool
) -> None:
    assert can(principal, action, resource) is expected, case


def test_every_role_may_read_itself() -> None:
    for role in Role:
        assert scope_of(who(role), Action.ME_READ) is Scope.OWN


def test_no_role_has_an_unknown_action() -> None:
    for grants in GRANTS.values():
        assert set(grants) <= set(Action)


# ---- the SQL face agrees with the Python face -------------------------------------------

_meta = MetaData()
_things = Table(
    "things",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("owner", String),
    Column("agency", String),
    Column("province", String),
    Column("municipality", String),
    Column("cell", String),
    Column("classification", Integer),
    Column("granted", Integer),
)
_groups = Table("thing_groups", _meta, Column("thing_id", Integer), Column("grp", String))
_COLUMNS = Columns(
    owner=_things.c.owner,
    agency=_things.c.agency,
    province=_things.c.province,
    municipality=_things.c.municipality,
    cell=_things.c.cell,
    classification=_things.c.classification,
    restricted=exists().where(_groups.c.thing_id == _things.c.id),
    shared_with=lambda gs: exists().where(
        and_(_groups.c.thing_id == _things.c.id, _groups.c.grp.in_(sorted(gs)))
    ),
    granted=_things.c.granted == 1,
)

ids = st.sampled_from(["a", "b", None])
places = st.sampled_from(["GP", "KZN", None])
munis = st.sampled_from(["JHB", "TSH", None])
cells = st.sampled_from(["c1", "c2", "c3", None])
group_sets = st.frozensets(st.sampled_from(["g1", "g2"]), max_size=2)
resources = st.builds(
    Resource,
    owner_id=ids,
    agency_id=ids,
    province=places,
    municipality=munis,
    cell=cells,
    classification=st.sampled_from(list(Clearance)),
    sharing_groups=group_sets,
    granted=st.booleans(),
)
principals = st.builds(
    Principal,
    user_id=st.sampled_from(["a", "b"]),
    username=st.just("x"),
    roles=st.frozensets(st.sampled_from(list(Role)), min_size=1, max_size=3),
    clearance=st.sampled_from(list(Clearance)),
    agency_id=ids,
    agency_type=st.none(),
    jurisdiction=st.builds(
        Jurisdiction,
        provinces=st.frozensets(st.sampled_from(["GP", "KZN"]), max_size=1),
        municipalities=st.frozensets(st.sampled_from(["JHB", "TSH"]), max_size=1),
        cells=st.frozensets(st.sampled_from(["c1", "c2", "c3"]), max_size=2),
    ),
    sharing_groups=group_sets,
)


@pytest.fixture(scope="module")
def memory_conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    _meta.create_all(engine)
    with engine.connect() as conn:
        yield conn


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    principal=principals,
    action=st.sampled_from(list(Action)),
    rows=st.lists(resources, min_size=1, max_size=12),
)
def test_read_filter_selects_exactly_what_can_allows(
    memory_conn: Connection, principal: Principal, action: Action, rows: list[Resource]
) -> None:
    memory_conn.execute(_groups.delete())
    memory_conn.execute(_things.delete())
    for i, r in enumerate(rows):
        memory_conn.execute(
            insert(_things).values(
                id=i,
                owner=r.owner_id,
                agency=r.agency_id,
                province=r.province,
                municipality=r.municipality,
                cell=r.cell,
                classification=int(r.classification),
                granted=int(r.granted),
            )
        )
        for g in r.sharing_groups:
            memory_conn.execute(insert(_groups).values(thing_id=i, grp=g))
    selected = set(
        memory_conn.execute(select(_things.c.id).where(read_filter(principal, action, _COLUMNS))).scalars()
    )
    allowed = {i for i, r in enumerate(rows) if can(principal, action, r)}
    assert selected == allowed
