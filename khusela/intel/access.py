"""Need-to-know for intel items, in the two faces of the one access policy.

`khusela.identity.policy` decides: the role must grant `INTEL_READ`, the item must be the
caller's agency's (analysts' AGENCY scope) or their own (OWN), or be *granted* to them, and
its classification must not exceed their clearance. This module states the grant — what TLP,
distribution and sharing groups add — once in Python (`grant`) and once in SQL
(`granted_clause`); a property test keeps them equal, and `visible_clause` / `can_read` wrap
them with the policy and the review clock.

The grant, for a caller whose roles give `INTEL_READ` at AGENCY or wider (analysts):
- TLP:CLEAR: granted;
- TLP:GREEN: granted to anyone of an agency of this instance;
- TLP:AMBER and AMBER+STRICT: granted to agencies named in the item's distribution; an AMBER
  item received from a partner instance (whose distribution named this instance) to every
  analyst here;
- TLP:RED: granted to the users named in the distribution only;
- shared with a sharing group the caller is in: granted up to TLP:AMBER (AMBER+STRICT is for
  one organisation and RED for named people, so groups never widen those).
For a caller with `INTEL_READ` at OWN only (community partners): TLP:CLEAR, or TLP:GREEN
shared with one of their groups. Items revoked, purged or past their review date exist for
nobody.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_

from khusela.identity.model import Clearance, Principal
from khusela.identity.policy import Action, Columns, Resource, Scope, can, read_filter, scope_of
from khusela.intel.markings import Tlp
from khusela.intel.tables import (
    DIST_AGENCY,
    DIST_USER,
    intel_item_distribution,
    intel_item_groups,
    intel_items,
)

ACTIVE = "active"
GROUP_TLP_LIMIT = Tlp.AMBER
PARTNER_TLP_LIMIT = Tlp.GREEN


@dataclass(frozen=True, slots=True)
class Shareable:
    """What the access rule reads of one item (a row or an `IntelItem`)."""

    agency_id: str
    author_id: str | None
    tlp: Tlp
    classification: Clearance
    groups: frozenset[str] = frozenset()
    agencies: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    received: bool = False
    status: str = ACTIVE
    review_at: datetime | None = None


def _partner_only(principal: Principal) -> bool:
    return scope_of(principal, Action.INTEL_READ) is Scope.OWN


def grant(principal: Principal, item: Shareable) -> bool:
    """Whether TLP, distribution or sharing groups give `principal` this item."""
    if scope_of(principal, Action.INTEL_READ) is None:
        return False
    shared = bool(principal.sharing_groups & item.groups)
    if item.tlp is Tlp.CLEAR:
        return True
    if _partner_only(principal):
        return shared and item.tlp <= PARTNER_TLP_LIMIT
    named_agency = principal.agency_id is not None and principal.agency_id in item.agencies
    by_tlp = {
        Tlp.GREEN: principal.agency_id is not None,
        Tlp.AMBER: named_agency or item.received,
        Tlp.AMBER_STRICT: named_agency,
        Tlp.RED: principal.user_id in item.users,
    }
    return (shared and item.tlp <= GROUP_TLP_LIMIT) or by_tlp[item.tlp]


def resource(principal: Principal, item: Shareable) -> Resource:
    """The policy's view of `item` for `principal` (the grant is per caller)."""
    return Resource(
        owner_id=item.author_id,
        agency_id=item.agency_id,
        classification=item.classification,
        granted=grant(principal, item),
    )


def can_read(principal: Principal, item: Shareable, now: datetime) -> bool:
    """The one rule for one item: live, and allowed by the policy."""
    if item.status != ACTIVE or (item.review_at is not None and item.review_at <= now):
        return False
    return can(principal, Action.INTEL_READ, resource(principal, item))


def _dist(kind: str, target: str) -> ColumnElement[bool]:
    d = intel_item_distribution
    return exists().where(d.c.item_id == intel_items.c.id, d.c.kind == kind, d.c.target == target)


def _in_groups(groups: Collection[str]) -> ColumnElement[bool]:
    g = intel_item_groups
    return exists().where(g.c.item_id == intel_items.c.id, g.c.group_id.in_(sorted(groups)))


def granted_clause(principal: Principal) -> ColumnElement[bool]:
    """`grant` as SQL over `intel_items`, for `principal`."""
    if scope_of(principal, Action.INTEL_READ) is None:
        return false()
    tlp = intel_items.c.tlp
    options: list[ColumnElement[bool]] = [tlp == int(Tlp.CLEAR)]
    groups = principal.sharing_groups
    if _partner_only(principal):
        if groups:
            options.append(and_(tlp <= int(PARTNER_TLP_LIMIT), _in_groups(groups)))
        return or_(*options)
    if groups:
        options.append(and_(tlp <= int(GROUP_TLP_LIMIT), _in_groups(groups)))
    options.append(and_(tlp == int(Tlp.AMBER), intel_items.c.received_from.is_not(None)))
    if principal.agency_id is not None:
        options.append(tlp == int(Tlp.GREEN))
        options.append(
            and_(
                tlp.in_([int(Tlp.AMBER), int(Tlp.AMBER_STRICT)]),
                _dist(DIST_AGENCY, principal.agency_id),
            )
        )
    options.append(and_(tlp == int(Tlp.RED), _dist(DIST_USER, principal.user_id)))
    return or_(*options)


def live_clause(now: datetime) -> ColumnElement[bool]:
    return and_(intel_items.c.status == ACTIVE, intel_items.c.review_at > now)


def visible_clause(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """`can_read` as SQL: what lists, search, graph, export and sync select from."""
    if scope_of(principal, Action.INTEL_READ) is None:
        return false()
    cols = Columns(
        owner=intel_items.c.author_id,
        agency=intel_items.c.agency_id,
        classification=intel_items.c.classification,
        granted=granted_clause(principal),
    )
    return and_(live_clause(now), read_filter(principal, Action.INTEL_READ, cols))


def from_payload(payload: Mapping[str, Any]) -> Shareable:
    """The access fields an `intel.*` event carries (`store.access_payload`), for the live feed.
    A revocation is shown to those who could see the item, so their consoles drop it."""
    review = payload.get("review_at")
    return Shareable(
        agency_id=str(payload.get("agency_id", "")),
        author_id=payload.get("author_id"),
        tlp=Tlp(int(payload.get("tlp", Tlp.RED))),
        classification=Clearance(int(payload.get("classification", Clearance.TOP_SECRET))),
        groups=frozenset(payload.get("groups", ())),
        agencies=frozenset(payload.get("agencies", ())),
        users=frozenset(payload.get("users", ())),
        received=bool(payload.get("received", False)),
        review_at=datetime.fromisoformat(review) if isinstance(review, str) else None,
    )
