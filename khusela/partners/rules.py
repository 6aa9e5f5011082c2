"""What active agreements allow elsewhere on the platform.

Other modules ask here instead of keeping their own partner lists: an agreement recorded
and activated in the tracker is what lets, say, a command centre view a metro police
agency's cameras. An agreement is *active* when its status is active, it has been signed,
and it has not ended (all judged on the South African calendar day).

| who asks                          | with                                   | area of collaboration     |
|-----------------------------------|----------------------------------------|---------------------------|
| panic dispatch and recommendation | `dispatch_partners` (once per request) | dispatch or joint ops     |
| intel sharing (`intel.store`)     | `partners_of`                          | information sharing       |
| the camera registry's read filter | `camera_owners_query` (a subquery)     | CCTV integration          |
| the live feed's camera grants     | `partners_of`                          | CCTV integration          |

Agreements bind both ways, so the agencies bound to an owner are also those bound to a
viewer. Community partners (CPFs, neighbourhood watches) are dispatched only where
`dispatch_partners` names their agency (`khusela.panic.recommend`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, and_, or_, select
from sqlalchemy.orm import aliased

from khusela.core.clock import SystemClock
from khusela.partners.model import AgreementStatus, AreaKind, today_in_sa
from khusela.partners.tables import partner_agreement_parties, partner_agreements, partner_areas


def _active(today_clause_date: object) -> ColumnElement[bool]:
    a = partner_agreements.c
    return and_(
        a.status == AgreementStatus.ACTIVE.value,
        a.signed_on.is_not(None),
        a.signed_on <= today_clause_date,
        or_(a.ends_on.is_(None), a.ends_on >= today_clause_date),
    )


def partners_query(
    agency_id: str, areas: Iterable[AreaKind], now: datetime | None = None
) -> Select[tuple[str]]:
    """The agencies bound to `agency_id` by an active agreement with one of `areas`, as a
    subquery other modules can put inside their own read filter (no extra round trip)."""
    return _partners_of_any((agency_id,), areas, now)


def _partners_of_any(
    agency_ids: Collection[str], areas: Iterable[AreaKind], now: datetime | None
) -> Select[tuple[str]]:
    """The agencies bound to any of `agency_ids` (each other party of each agreement)."""
    today = today_in_sa(now or SystemClock().now())
    mine, theirs = aliased(partner_agreement_parties), aliased(partner_agreement_parties)
    wanted = [a.value for a in areas]
    with_area = select(partner_areas.c.agreement_id).where(partner_areas.c.kind.in_(wanted))
    return (
        select(theirs.c.agency_id)
        .join(mine, mine.c.agreement_id == theirs.c.agreement_id)
        .join(partner_agreements, partner_agreements.c.id == theirs.c.agreement_id)
        .where(
            mine.c.agency_id.in_(list(agency_ids)),
            theirs.c.agency_id != mine.c.agency_id,
            _active(today),
            partner_agreements.c.id.in_(with_area),
        )
    )


def partners_of(
    conn: Connection, agency_id: str, areas: Iterable[AreaKind], now: datetime | None = None
) -> frozenset[str]:
    """Agencies bound to `agency_id` by an active agreement with one of `areas`."""
    return frozenset(str(agency) for agency in conn.execute(partners_query(agency_id, areas, now)).scalars())


def camera_owners_query(viewer_agency_id: str, now: datetime | None = None) -> Select[tuple[str]]:
    """Owners whose cameras the viewer's agency may view under a CCTV-integration agreement
    (the camera registry ORs this into its read filter: `khusela.cctv.cameras.camera_columns`)."""
    return partners_query(viewer_agency_id, (AreaKind.CCTV_INTEGRATION,), now)


DISPATCH_AREAS = (AreaKind.DISPATCH, AreaKind.JOINT_OPERATIONS)
"""The areas of collaboration under which one agency's units are sent for another."""


def dispatch_partners(
    conn: Connection, agency_ids: Iterable[str | None], now: datetime | None = None
) -> frozenset[str]:
    """Agencies bound to any of `agency_ids` (say the dispatching operator's and the agency
    handling the alert) by an active dispatch or joint-operations agreement, in one query:
    panic dispatch passes the set to its pure rules instead of asking per unit."""
    ids = sorted({a for a in agency_ids if a})
    if not ids:
        return frozenset()
    found = conn.execute(_partners_of_any(ids, DISPATCH_AREAS, now)).scalars()
    return frozenset(str(agency) for agency in found)
