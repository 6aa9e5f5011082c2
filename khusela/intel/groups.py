"""Sharing groups for intel: identity's groups and members, plus each group's maximum
shareable marking (`GroupCeiling`), which bounds what its members may export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, func, insert, select

from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.identity import directory
from khusela.identity.model import Clearance, Principal
from khusela.identity.policy import Action, scope_of
from khusela.identity.tables import agencies, sharing_group_members, sharing_groups, users
from khusela.intel.markings import GroupCeiling, Tlp, parse_caveats
from khusela.intel.tables import intel_group_ceilings

DEFAULT_CEILING = GroupCeiling(Tlp.AMBER, Clearance.SECRET)
"""For a group created outside intel (no ceiling row): law-enforcement sharing, no caveats."""


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    description: str
    ceiling: GroupCeiling


def create(conn: Connection, actor: Principal, name: str, description: str, ceiling: GroupCeiling) -> Group:
    """A new group with its ceiling; the creator is its first member."""
    group_id = directory.create_sharing_group(conn, actor, name, description)
    conn.execute(
        insert(intel_group_ceilings).values(
            group_id=group_id,
            tlp=int(ceiling.tlp),
            classification=int(ceiling.classification),
            accepted_caveats=sorted(ceiling.accepted_caveats),
            aggregate_only=ceiling.aggregate_only,
        )
    )
    directory.add_to_sharing_group(conn, actor, group_id, actor.user_id)
    return Group(group_id, name.strip(), description, ceiling)


def parse_ceiling(tlp: str, classification: str, caveats: list[str], aggregate_only: bool) -> GroupCeiling:
    try:
        return GroupCeiling(
            Tlp.parse(tlp), Clearance.parse(classification), parse_caveats(caveats), aggregate_only
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _query() -> Select[Any]:
    g, c = sharing_groups, intel_group_ceilings
    return select(
        g.c.id,
        g.c.name,
        g.c.description,
        c.c.tlp,
        c.c.classification,
        c.c.accepted_caveats,
        c.c.aggregate_only,
    ).select_from(g.outerjoin(c, c.c.group_id == g.c.id))


def _group(r: Row[Any]) -> Group:
    if r.tlp is None:
        ceiling = DEFAULT_CEILING
    else:
        ceiling = GroupCeiling(
            Tlp(r.tlp), Clearance(r.classification), frozenset(r.accepted_caveats), bool(r.aggregate_only)
        )
    return Group(r.id, r.name, r.description, ceiling)


def of_member(conn: Connection, principal: Principal) -> list[Group]:
    """The groups the caller belongs to (now, from the table, not the token's snapshot)."""
    m = sharing_group_members
    query = _query().where(
        sharing_groups.c.id.in_(select(m.c.group_id).where(m.c.user_id == principal.user_id))
    )
    return [_group(r) for r in conn.execute(query.order_by(sharing_groups.c.name))]


def membership(conn: Connection, principal: Principal, group_id: str) -> Group:
    """A group the caller is in, or 'not found'."""
    for group in of_member(conn, principal):
        if group.id == group_id:
            return group
    raise NotFound("no such sharing group")


def members(conn: Connection, viewer: Principal, group_id: str) -> list[dict[str, Any]]:
    """Who is in a group the caller is in: names and agencies, nothing to contact them by
    (members need to know who reads what they share, not their phone numbers)."""
    membership(conn, viewer, group_id)
    m = sharing_group_members
    rows = conn.execute(
        select(users.c.id, users.c.username, users.c.display_name, agencies.c.name.label("agency"))
        .join(m, m.c.user_id == users.c.id)
        .outerjoin(agencies, agencies.c.id == users.c.agency_id)
        .where(m.c.group_id == group_id)
        .order_by(users.c.username)
    )
    return [
        {"user_id": r.id, "username": r.username, "display_name": r.display_name, "agency": r.agency}
        for r in rows
    ]


def remove_member(conn: Connection, actor: Principal, group_id: str, user_id: str) -> None:
    """Analysts remove members and anyone may leave (a community partner included); the
    last member cannot leave (a group
    nobody is in could never be managed again). Takes effect on the member's next sign-in
    lookup (seconds: `khusela.identity.authenticator`)."""
    membership(conn, actor, group_id)
    if user_id != actor.user_id and scope_of(actor, Action.INTEL_WRITE) is None:
        raise Forbidden("anyone may leave a group; removing others is for analysts")
    m = sharing_group_members
    count = conn.execute(select(func.count()).select_from(m).where(m.c.group_id == group_id)).scalar_one()
    inside = conn.execute(select(m.c.user_id).where(m.c.group_id == group_id, m.c.user_id == user_id)).first()
    if inside is None:
        raise NotFound("that user is not in the group")
    if count <= 1:
        raise Conflict("the last member cannot leave: add someone else first")
    directory.remove_from_sharing_group(conn, actor, group_id, user_id)


def add_member(conn: Connection, actor: Principal, group_id: str, user_id: str) -> None:
    """Members add members: a group is a circle of trust, not an administrator's list."""
    membership(conn, actor, group_id)
    directory.add_to_sharing_group(conn, actor, group_id, user_id)
