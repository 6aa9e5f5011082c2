"""The one access policy. Every read path in every module asks here, below the API.

Two faces of the same rules:
- `can(principal, action, resource)` decides for one object in Python;
- `read_filter(principal, action, columns)` gives the SQL `WHERE` clause that selects
  exactly the rows `can` would allow, so lists, search, exports, sync and live feeds
  never fetch what they may not return. A property test keeps the two in agreement.

A role grants an action at a *scope*: ALL, the agency's JURISDICTION, its own AGENCY, or
the user's OWN records. On top of the scope, an object's classification must not exceed
the caller's clearance, and an object restricted to sharing groups is visible only to
members of one of them (and to its originating agency).

A module whose objects carry their own sharing rules (intel: TLP, distribution lists, sharing
groups that *widen* an item's audience) states, per caller, whether the object is `granted`
to them; a grant stands in for the scope (it never lifts the clearance check). The module
computes the grant in both faces (`Resource.granted`, `Columns.granted`) and keeps them in
agreement with its own property test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement as _Col

from khusela.identity.model import Clearance, Principal, Role


class Action(StrEnum):
    ME_READ = "me.read"
    AGENCY_READ = "agency.read"
    AGENCY_MANAGE = "agency.manage"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    PANIC_RAISE = "panic.raise"
    PANIC_READ = "panic.read"
    PANIC_DISPATCH = "panic.dispatch"
    UNIT_READ = "unit.read"
    UNIT_UPDATE = "unit.update"
    UNIT_MANAGE = "unit.manage"
    KPI_READ = "kpi.read"
    CCTV_READ = "cctv.read"
    CCTV_MANAGE = "cctv.manage"
    EVIDENCE_READ = "evidence.read"
    EVIDENCE_WRITE = "evidence.write"
    EVIDENCE_EXPORT = "evidence.export"
    CYBER_READ = "cyber.read"
    CYBER_RESPOND = "cyber.respond"
    CYBER_INGEST = "cyber.ingest"
    CYBER_REPORT = "cyber.report"
    INTEL_READ = "intel.read"
    INTEL_WRITE = "intel.write"
    INTEL_AGGREGATE = "intel.aggregate"
    RISK_READ = "risk.read"
    RISK_WRITE = "risk.write"
    PARTNERS_READ = "partners.read"
    PARTNERS_WRITE = "partners.write"
    COMMUNITY_READ = "community.read"


class Scope(IntEnum):
    """How far a grant reaches; a larger value reaches further."""

    OWN = 1
    AGENCY = 2
    JURISDICTION = 3
    ALL = 4


A, S = Action, Scope
GRANTS: dict[Role, dict[Action, Scope]] = {
    Role.RESIDENT: {A.ME_READ: S.OWN, A.PANIC_RAISE: S.OWN, A.PANIC_READ: S.OWN},
    Role.OPERATOR: {
        A.ME_READ: S.OWN,
        A.CYBER_REPORT: S.OWN,
        A.AGENCY_READ: S.ALL,
        A.PANIC_READ: S.JURISDICTION,
        A.PANIC_DISPATCH: S.JURISDICTION,
        A.UNIT_READ: S.JURISDICTION,
        A.KPI_READ: S.JURISDICTION,
        A.CCTV_READ: S.JURISDICTION,
        A.EVIDENCE_READ: S.AGENCY,
        A.EVIDENCE_WRITE: S.AGENCY,
        A.EVIDENCE_EXPORT: S.AGENCY,
        A.RISK_READ: S.JURISDICTION,
        A.COMMUNITY_READ: S.JURISDICTION,
        # Tips inbox, community alerts and joint operations of their area (khusela.partners).
        A.PARTNERS_READ: S.JURISDICTION,
        A.PARTNERS_WRITE: S.JURISDICTION,
    },
    Role.RESPONDER: {
        A.ME_READ: S.OWN,
        A.CYBER_REPORT: S.OWN,
        A.PANIC_READ: S.AGENCY,
        A.UNIT_READ: S.AGENCY,
        A.UNIT_UPDATE: S.AGENCY,
    },
    Role.SOC_ANALYST: {
        A.ME_READ: S.OWN,
        A.CYBER_READ: S.ALL,
        A.CYBER_RESPOND: S.ALL,
        A.CYBER_INGEST: S.ALL,
        A.CYBER_REPORT: S.OWN,
    },
    Role.INTEL_ANALYST: {
        A.ME_READ: S.OWN,
        A.CYBER_REPORT: S.OWN,
        A.AGENCY_READ: S.ALL,
        # AGENCY: their agency's items; TLP, distribution and sharing groups widen it (intel.access).
        A.INTEL_READ: S.AGENCY,
        A.INTEL_WRITE: S.AGENCY,
        A.INTEL_AGGREGATE: S.JURISDICTION,
        A.RISK_READ: S.JURISDICTION,
    },
    Role.MUNICIPAL_OFFICIAL: {
        A.ME_READ: S.OWN,
        A.CYBER_REPORT: S.OWN,
        A.RISK_READ: S.JURISDICTION,
        A.RISK_WRITE: S.JURISDICTION,
        A.KPI_READ: S.JURISDICTION,
        # Municipal dashboards: TLP:GREEN/CLEAR counts and maps, never single intel items.
        A.INTEL_AGGREGATE: S.JURISDICTION,
        A.PARTNERS_READ: S.JURISDICTION,
        A.PARTNERS_WRITE: S.JURISDICTION,
        A.COMMUNITY_READ: S.JURISDICTION,
    },
    Role.COMMUNITY_PARTNER: {
        A.ME_READ: S.OWN,
        A.COMMUNITY_READ: S.JURISDICTION,
        A.PARTNERS_READ: S.AGENCY,
        # Their group's patrol reports and its own commitments' progress (khusela.partners).
        A.PARTNERS_WRITE: S.AGENCY,
        # OWN: only what intel.access grants them (TLP:CLEAR, or GREEN shared with their group).
        A.INTEL_READ: S.OWN,
    },
    Role.OVERSIGHT: {
        A.ME_READ: S.OWN,
        A.CYBER_REPORT: S.OWN,
        A.AGENCY_READ: S.ALL,
        A.AUDIT_READ: S.ALL,
        A.EVIDENCE_READ: S.ALL,
        A.KPI_READ: S.ALL,
        A.PARTNERS_READ: S.ALL,
        A.RISK_READ: S.ALL,
    },
    Role.ADMIN: {
        A.ME_READ: S.OWN,
        A.CYBER_REPORT: S.OWN,
        A.AGENCY_READ: S.ALL,
        A.AGENCY_MANAGE: S.ALL,
        A.USER_READ: S.ALL,
        A.USER_MANAGE: S.ALL,
        A.UNIT_READ: S.ALL,
        A.UNIT_MANAGE: S.ALL,
        A.CCTV_READ: S.ALL,
        A.CCTV_MANAGE: S.ALL,
        A.AUDIT_READ: S.ALL,
        A.CYBER_INGEST: S.ALL,
    },
}


@dataclass(frozen=True, slots=True)
class Resource:
    """What the policy needs to know of an object; every field is optional."""

    owner_id: str | None = None
    agency_id: str | None = None
    province: str | None = None
    municipality: str | None = None
    cell: str | None = None
    classification: Clearance = Clearance.UNCLASSIFIED
    sharing_groups: frozenset[str] = frozenset()
    granted: bool = False
    """The object's own sharing rules grant it to the caller this resource was built for."""


def scope_of(principal: Principal, action: Action) -> Scope | None:
    """The widest scope any of the principal's roles grants for `action`, or None."""
    scopes = [GRANTS[role][action] for role in principal.roles if action in GRANTS[role]]
    return max(scopes) if scopes else None


def can(principal: Principal, action: Action, resource: Resource | None = None) -> bool:
    """Whether `principal` may perform `action` (on `resource`, when one is given)."""
    scope = scope_of(principal, action)
    if scope is None:
        return False
    if resource is None:
        return True
    return (
        (resource.granted or _in_scope(principal, scope, resource))
        and resource.classification <= principal.clearance
        and _shared_with(principal, resource)
    )


def _same_agency(principal: Principal, resource: Resource) -> bool:
    return principal.agency_id is not None and resource.agency_id == principal.agency_id


def _in_scope(principal: Principal, scope: Scope, resource: Resource) -> bool:
    if scope is Scope.ALL:
        return True
    if scope is Scope.OWN:
        return resource.owner_id == principal.user_id
    if scope is Scope.AGENCY:
        return _same_agency(principal, resource)
    return _same_agency(principal, resource) or principal.jurisdiction.covers(
        resource.province, resource.municipality, resource.cell
    )


def _shared_with(principal: Principal, resource: Resource) -> bool:
    if not resource.sharing_groups:
        return True
    return _same_agency(principal, resource) or bool(principal.sharing_groups & resource.sharing_groups)


GroupsClause = Callable[[frozenset[str]], ColumnElement[bool]]
"""Builds "the row is restricted to none of / one of these groups" for a module's tables."""


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns of a module's table that the policy filters on; leave out what it lacks.

    `restricted` is a clause true when the row is limited to sharing groups, and
    `shared_with(groups)` one true when it is shared with any of `groups`. `granted` is a
    clause, built for one caller, true when the row's own sharing rules grant it to them
    (OR-ed with the scope, as `Resource.granted` is in `can`).
    """

    owner: _Col[str] | None = None
    agency: _Col[str] | None = None
    province: _Col[str] | None = None
    municipality: _Col[str] | None = None
    cell: _Col[str] | None = None
    classification: _Col[int] | None = None
    restricted: ColumnElement[bool] | None = None
    shared_with: GroupsClause | None = None
    granted: ColumnElement[bool] | None = None


def read_filter(principal: Principal, action: Action, cols: Columns) -> ColumnElement[bool]:
    """SQL clause selecting exactly the rows `can(principal, action, row)` allows."""
    scope = scope_of(principal, action)
    if scope is None:
        return false()
    reach = _scope_clause(principal, scope, cols)
    clauses = [reach if cols.granted is None else or_(reach, cols.granted)]
    if cols.classification is not None:
        clauses.append(cols.classification <= int(principal.clearance))
    if cols.restricted is not None and cols.shared_with is not None:
        allowed = [~cols.restricted, _agency_clause(principal, cols)]
        if principal.sharing_groups:
            allowed.append(cols.shared_with(principal.sharing_groups))
        clauses.append(or_(*allowed))
    return and_(*clauses)


def _agency_clause(principal: Principal, cols: Columns) -> ColumnElement[bool]:
    if cols.agency is None or principal.agency_id is None:
        return false()
    return cols.agency == principal.agency_id


def _scope_clause(principal: Principal, scope: Scope, cols: Columns) -> ColumnElement[bool]:
    if scope is Scope.ALL:
        return true()
    if scope is Scope.OWN:
        return false() if cols.owner is None else cols.owner == principal.user_id
    if scope is Scope.AGENCY:
        return _agency_clause(principal, cols)
    where = principal.jurisdiction
    options = [_agency_clause(principal, cols)]
    if cols.province is not None and where.provinces:
        options.append(cols.province.in_(sorted(where.provinces)))
    if cols.municipality is not None and where.municipalities:
        options.append(cols.municipality.in_(sorted(where.municipalities)))
    if cols.cell is not None and where.cells:
        options.append(cols.cell.in_(sorted(where.cells)))
    return or_(*options)
