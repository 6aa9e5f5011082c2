"""Intel routes: items, search, STIX export/import, sharing groups, imminent-danger releases.

Every read goes through `reads`, which filters with the one access policy in SQL and audits
what it returns; an item the caller may not see is "not found", never "forbidden", so its
existence is not revealed. Entity, RFI and federation routes live in their own routers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, status
from sqlalchemy import String, cast, func, select

from khusela.api.deps import CurrentUser, PlatformDep, require
from khusela.core.errors import NotFound
from khusela.identity import directory
from khusela.identity.model import Clearance, Principal
from khusela.identity.policy import Action, Columns, read_filter
from khusela.intel import exchange, groups, reads, store
from khusela.intel.access import live_clause
from khusela.intel.markings import MUNICIPAL_DASHBOARD
from khusela.intel.model import Category
from khusela.intel.schemas import (
    GroupCreate,
    GroupMemberOut,
    GroupOut,
    ItemCreate,
    ItemOut,
    MemberIn,
    ReasonIn,
    ReleaseIn,
    ReviseIn,
    ShareIn,
    utcnow,
)
from khusela.intel.tables import intel_items

router = APIRouter(prefix="/api/intel", tags=["intel"])
Reader = Annotated[Principal, Depends(require(Action.INTEL_READ))]
Writer = Annotated[Principal, Depends(require(Action.INTEL_WRITE))]
Counter = Annotated[Principal, Depends(require(Action.INTEL_AGGREGATE))]

IMPORT_PATH = "/api/intel/import/stix"
MAX_IMPORT_BYTES = 20 * 1024 * 1024


@router.post("/items", status_code=status.HTTP_201_CREATED, response_model=ItemOut, summary="Submit an item")
def submit(body: ItemCreate, writer: Writer, platform: PlatformDep) -> ItemOut:
    """Graded, marked and located; shared with the groups and distribution given (with a reason)."""
    now = utcnow()
    with platform.db.write() as conn:
        stored = store.submit(conn, writer, body.to_draft(now), now)
    platform.relay.notify()
    return ItemOut.of(stored)


@router.get("/items", response_model=list[ItemOut], summary="Items the caller may see, newest first")
def list_items(
    reader: Reader,
    platform: PlatformDep,
    category: Category | None = None,
    municipality: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=reads.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ItemOut]:
    with platform.db.write() as conn:  # write: the reads are audited in the same transaction
        found = reads.list_items(
            conn, reader, utcnow(), category=category, municipality=municipality, limit=limit, offset=offset
        )
    return [ItemOut.of(s) for s in found]


@router.get("/items/{item_id}", response_model=ItemOut, summary="One item (404 if not yours to see)")
def get_item(item_id: str, reader: Reader, platform: PlatformDep) -> ItemOut:
    with platform.db.write() as conn:
        return ItemOut.of(reads.get(conn, reader, item_id, utcnow()))


@router.get("/search", response_model=list[ItemOut], summary="Full-text search over what the caller may see")
def search(
    reader: Reader,
    platform: PlatformDep,
    q: Annotated[str, Query(min_length=1, max_length=reads.MAX_QUERY)],
    limit: Annotated[int, Query(ge=1, le=reads.MAX_PAGE)] = 50,
) -> list[ItemOut]:
    with platform.db.write() as conn:
        found = reads.search(conn, reader, q, utcnow(), limit)
    return [ItemOut.of(s) for s in found]


@router.post("/items/{item_id}/revisions", response_model=ItemOut, summary="Correct an item (new version)")
def revise(item_id: str, body: ReviseIn, writer: Writer, platform: PlatformDep) -> ItemOut:
    with platform.db.write() as conn:
        stored = store.revise(conn, writer, item_id, body.changes(), body.reason, utcnow())
    platform.relay.notify()
    return ItemOut.of(stored)


@router.post("/items/{item_id}/shares", response_model=ItemOut, summary="Share with agencies, users, groups")
def share(item_id: str, body: ShareIn, writer: Writer, platform: PlatformDep) -> ItemOut:
    with platform.db.write() as conn:
        stored = store.share(conn, writer, item_id, body.sharing(), utcnow())
    platform.relay.notify()
    return ItemOut.of(stored)


@router.post("/items/{item_id}/revoke", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an item")
def revoke(item_id: str, body: ReasonIn, writer: Writer, platform: PlatformDep) -> None:
    """Its content goes; every earlier recipient gets a notice; partners get a tombstone."""
    with platform.db.write() as conn:
        store.revoke(conn, writer, item_id, body.reason, utcnow())
    platform.relay.notify()


@router.post(
    "/items/{item_id}/releases", status_code=status.HTTP_201_CREATED, summary="Imminent-danger release"
)
def release(item_id: str, body: ReleaseIn, writer: Writer, platform: PlatformDep) -> dict[str, str]:
    """A sanitised copy to a non-law-enforcement official (mayor, CPF chair), justified."""
    with platform.db.write() as conn:
        recipient = directory.load_principal(conn, body.recipient_user_id)
        if recipient is None:
            raise NotFound("no such user")
        release_id = store.release(
            conn, writer, item_id, recipient, body.justification, body.review_by, utcnow()
        )
    return {"id": release_id}


@router.get("/releases", summary="Sanitised assessments released to the caller for imminent danger")
def my_releases(user: CurrentUser, platform: PlatformDep) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        found = store.releases_for(conn, user.user_id)
    return [
        {
            "id": r["id"],
            "released_at": r["released_at"],
            "review_by": r["review_by"],
            "justification": r["justification"],
            "item": r["copy"],
        }
        for r in found
    ]


@router.get("/export/stix", summary="A STIX 2.1 bundle of what the caller may see")
def export_stix(
    reader: Reader,
    platform: PlatformDep,
    reason: Annotated[str, Query(min_length=10, max_length=1000, description="Why it is exported.")],
    group: Annotated[str | None, Query(max_length=36, description="Export for this sharing group.")] = None,
    limit: Annotated[int, Query(ge=1, le=exchange.MAX_EXPORT)] = 1000,
) -> dict[str, Any]:
    with platform.db.write() as conn:
        return exchange.export_stix(conn, reader, reason, utcnow(), group_id=group, limit=limit)


@router.post(
    IMPORT_PATH.removeprefix("/api/intel"), summary="Import a STIX 2.1 bundle for the caller's agency"
)
def import_stix(
    writer: Writer, platform: PlatformDep, bundle: Annotated[dict[str, Any], Body()]
) -> dict[str, int]:
    with platform.db.write() as conn:
        result = exchange.import_stix(conn, writer, bundle, utcnow())
    return {
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "revoked": result.revoked,
    }


@router.get("/aggregates", summary="Counts by category and municipality (TLP:GREEN or CLEAR only)")
def aggregates(counter: Counter, platform: PlatformDep) -> list[dict[str, Any]]:
    """Municipal dashboards: never single items; only items within `MUNICIPAL_DASHBOARD`'s
    ceiling (TLP:GREEN, unclassified, no caveats), in the caller's jurisdiction."""
    ceiling = MUNICIPAL_DASHBOARD
    i = intel_items
    place = Columns(province=i.c.province, municipality=i.c.municipality)
    query = (
        select(i.c.category, i.c.municipality, func.count().label("items"))
        .where(
            live_clause(utcnow()),
            read_filter(counter, Action.INTEL_AGGREGATE, place),
            i.c.tlp <= int(ceiling.tlp),
            i.c.classification <= int(min(ceiling.classification, counter.clearance)),
            cast(i.c.caveats, String) == "[]",  # the dashboard ceiling accepts no caveat
        )
        .group_by(i.c.category, i.c.municipality)
        .order_by(i.c.category, i.c.municipality)
    )
    with platform.db.read() as conn:
        found = conn.execute(query).all()
    return [{"category": r.category, "municipality": r.municipality, "items": int(r.items)} for r in found]


@router.get("/groups", response_model=list[GroupOut], summary="The caller's sharing groups")
def my_groups(reader: Reader, platform: PlatformDep) -> list[GroupOut]:
    with platform.db.read() as conn:
        found = groups.of_member(conn, reader)
    return [_group_out(g) for g in found]


@router.post(
    "/groups", status_code=status.HTTP_201_CREATED, response_model=GroupOut, summary="Create a group"
)
def create_group(body: GroupCreate, writer: Writer, platform: PlatformDep) -> GroupOut:
    ceiling = groups.parse_ceiling(
        body.max_tlp, body.max_classification, body.accepted_caveats, body.aggregate_only
    )
    with platform.db.write() as conn:
        group = groups.create(conn, writer, body.name, body.description, ceiling)
    return _group_out(group)


@router.post("/groups/{group_id}/members", status_code=status.HTTP_204_NO_CONTENT, summary="Add a member")
def add_member(group_id: str, body: MemberIn, writer: Writer, platform: PlatformDep) -> None:
    with platform.db.write() as conn:
        groups.add_member(conn, writer, group_id, body.user_id)


@router.get("/groups/{group_id}/members", response_model=list[GroupMemberOut], summary="A group's members")
def group_members(group_id: str, reader: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    """For members of the group only (anyone else: 404)."""
    with platform.db.read() as conn:
        return groups.members(conn, reader, group_id)


@router.delete(
    "/groups/{group_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member (or leave)",
)
def remove_member(group_id: str, user_id: str, reader: Reader, platform: PlatformDep) -> None:
    """Anyone in the group may leave; removing someone else needs intel.write."""
    with platform.db.write() as conn:
        groups.remove_member(conn, reader, group_id, user_id)


def _group_out(group: groups.Group) -> GroupOut:
    c = group.ceiling
    return GroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        max_tlp=c.tlp.label,
        max_classification=Clearance(c.classification).label,
        accepted_caveats=sorted(c.accepted_caveats),
        aggregate_only=c.aggregate_only,
    )
