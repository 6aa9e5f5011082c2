"""Intel write use cases: submit, revise, share, revoke, purge, the review clock, and
imminent-danger release. Each runs in the caller's transaction with its audit record, its
dissemination-log rows and its event, so a change and its trail commit together.

Only the originating agency changes an item (`INTEL_WRITE` at AGENCY). A correction, a
revocation or a purge writes a notice to every earlier recipient in the dissemination log,
local and partner (partners also receive the new version or tombstone by sync).

Naming another agency, or a person of another agency, as a recipient of a TLP:AMBER,
AMBER+STRICT or RED item needs an active information-sharing agreement between the two
agencies (`khusela.partners.rules`): the agreement is where the agencies accepted each
other's handling of restricted material. CLEAR and GREEN need none (GREEN is community-wide
by definition); sharing groups and partner instances keep their own rules (the group's
ceiling, federation).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.events import Event
from khusela.core.ids import new_id
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Resource, can
from khusela.identity.tables import agencies, sharing_groups, users
from khusela.intel import rows, wire
from khusela.intel.access import ACTIVE
from khusela.intel.errors import IntelRuleBroken
from khusela.intel.handling import (
    check_submission,
    needs_sanitising,
    release_for_imminent_danger,
    review_state,
)
from khusela.intel.markings import Tlp
from khusela.intel.model import IntelItem, Originator
from khusela.intel.rows import Audience, StoredItem
from khusela.intel.sanitise import sanitise
from khusela.intel.tables import (
    intel_danger_releases,
    intel_disseminations,
    intel_items,
    intel_notices,
    intel_partners,
)
from khusela.partners.model import AreaKind
from khusela.partners.rules import partners_of

SUBMITTED = "intel.item_submitted"
REVISED = "intel.item_revised"
SHARED = "intel.item_shared"
REVOKED = "intel.item_revoked"
REVOKED_STATUS, PURGED = "revoked", "purged"
MIN_REASON = 10


@dataclass(frozen=True, slots=True)
class Sharing:
    """Who to share with, and why (required whenever anyone is named)."""

    agencies: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    instances: frozenset[str] = frozenset()
    reason: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.agencies or self.users or self.groups or self.instances)


@dataclass(frozen=True, slots=True)
class Draft:
    """An item as the analyst writes it; id, version, originator and dates come from here."""

    item: IntelItem
    sharing: Sharing = field(default_factory=Sharing)


def next_seq(conn: Connection) -> int:
    """The next federation cursor value. Call after `audit.record`, which locks the audit head,
    so cursor order is commit order even with several API nodes."""
    return int(conn.execute(select(func.coalesce(func.max(intel_items.c.seq), 0))).scalar_one()) + 1


def access_payload(stored: StoredItem) -> dict[str, Any]:
    """What the live feed needs to apply the access rule to an event (no content but the title)."""
    s = stored.shareable()
    return {
        "id": str(stored.item.id),
        "version": stored.item.version,
        "title": stored.item.title,
        "status": stored.status,
        "agency_id": s.agency_id,
        "author_id": s.author_id,
        "tlp": int(s.tlp),
        "classification": int(s.classification),
        "groups": sorted(s.groups),
        "agencies": sorted(s.agencies),
        "users": sorted(s.users),
        "received": s.received,
        "review_at": stored.item.review_date.isoformat(),
    }


def _check_sharing(conn: Connection, item: IntelItem, sharing: Sharing, now: datetime) -> None:
    if not sharing.is_empty and len(sharing.reason.strip()) < MIN_REASON:
        raise InvalidInput(f"give a reason of at least {MIN_REASON} characters for sharing the item")
    tlp = item.marking.tlp
    if sharing.groups and tlp > Tlp.AMBER:
        raise IntelRuleBroken(
            f"{tlp.label} is for one organisation or named people: name recipient agencies or users, "
            "not a sharing group"
        )
    if sharing.instances and not tlp.leaves_instance:
        raise IntelRuleBroken(f"{tlp.label} never leaves this instance: it cannot name a partner instance")
    _must_exist(conn, agencies.c.id, sharing.agencies, "agency")
    _must_exist(conn, users.c.id, sharing.users, "user")
    _must_exist(conn, sharing_groups.c.id, sharing.groups, "sharing group")
    _must_exist(conn, intel_partners.c.instance, sharing.instances, "partner instance")
    _check_agreements(conn, item, sharing, now)


def _check_agreements(conn: Connection, item: IntelItem, sharing: Sharing, now: datetime) -> None:
    """Refuse restricted material to agencies the originator has no information-sharing
    agreement with, naming every such agency at once (one query for all of them)."""
    tlp = item.marking.tlp
    if tlp < Tlp.AMBER:
        return
    origin = item.originator.agency_id
    recipients = _recipient_agencies(conn, sharing) - {origin}
    if not recipients:
        return
    bound = partners_of(conn, origin, (AreaKind.INFORMATION_SHARING,), now)
    lacking = sorted(recipients - bound, key=lambda agency: agency or "")
    if lacking:
        raise IntelRuleBroken(
            f"{tlp.label} goes to another agency only under an active information-sharing agreement; "
            f"your agency has none with: {_agency_names(conn, lacking)}"
        )


def _recipient_agencies(conn: Connection, sharing: Sharing) -> set[str | None]:
    """The agencies named, and those of the people named (None for a person of no agency,
    who cannot be bound by any agreement)."""
    named: set[str | None] = set(sharing.agencies)
    if sharing.users:
        people = select(users.c.agency_id).where(users.c.id.in_(sorted(sharing.users)))
        named |= set(conn.execute(people).scalars())
    return named


def _agency_names(conn: Connection, agency_ids: list[str | None]) -> str:
    known = [a for a in agency_ids if a is not None]
    found = conn.execute(select(agencies.c.id, agencies.c.name).where(agencies.c.id.in_(known)))
    names = {row.id: row.name for row in found}
    listed = sorted(f"{names.get(a, a)} ({a})" for a in known)
    if None in agency_ids:
        listed.append("people who belong to no agency")
    return ", ".join(listed)


def _must_exist(conn: Connection, column: Any, wanted: frozenset[str], what: str) -> None:
    if not wanted:
        return
    found = set(conn.execute(select(column).where(column.in_(sorted(wanted)))).scalars())
    missing = sorted(wanted - found)
    if missing:
        raise InvalidInput(f"unknown {what}: {', '.join(missing)}")


def submit(conn: Connection, actor: Principal, draft: Draft, now: datetime) -> StoredItem:
    """Store a new item of the actor's agency after the handling rules pass."""
    if actor.agency_id is None:
        raise InvalidInput("only a member of an agency can submit intelligence")
    item = replace(
        draft.item,
        originator=Originator(rows.instance_name(conn), actor.agency_id, actor.user_id),
        distribution=draft.sharing.instances,
        version=1,
        created_at=now,
        updated_at=now,
        received_from=None,
    )
    check_submission(item)
    if item.marking.classification > actor.clearance:
        raise InvalidInput("you cannot classify an item above your own clearance")
    _check_sharing(conn, item, draft.sharing, now)
    audience = Audience(draft.sharing.agencies, draft.sharing.users, draft.sharing.groups)
    audit.record(
        conn, actor.username, "intel.item.submit", "intel_item", str(item.id), {"tlp": item.marking.tlp.label}
    )
    stored = insert_item(conn, item, audience, next_seq(conn))
    _disseminate(conn, actor, stored, draft.sharing, "share", now)
    enqueue(conn, Event(SUBMITTED, access_payload(stored)))
    return stored


def insert_item(
    conn: Connection, item: IntelItem, audience: Audience, seq: int, status: str = ACTIVE
) -> StoredItem:
    conn.execute(insert(intel_items).values(**rows.item_values(item, status, seq)))
    rows.write_audience(conn, item, audience)
    rows.index_text(conn, str(item.id), item.title, item.body)
    return StoredItem(item, audience, status, seq)


def save_item(conn: Connection, stored: StoredItem, seq: int) -> StoredItem:
    values = rows.item_values(stored.item, stored.status, seq)
    conn.execute(update(intel_items).where(intel_items.c.id == values.pop("id")).values(**values))
    rows.write_audience(conn, stored.item, stored.audience)
    live = stored.status == ACTIVE
    rows.index_text(conn, str(stored.item.id), stored.item.title if live else None, stored.item.body)
    return replace(stored, seq=seq)


def owned(conn: Connection, actor: Principal, item_id: str) -> StoredItem:
    """An item the actor's agency wrote and may change; anything else is 'not found'."""
    stored = rows.fetch(conn, item_id)
    if (
        stored is None
        or stored.status != ACTIVE
        or stored.item.received_from is not None
        or not can(
            actor,
            Action.INTEL_WRITE,
            Resource(
                agency_id=stored.item.originator.agency_id, classification=stored.item.marking.classification
            ),
        )
    ):
        raise NotFound("no such intelligence item")
    return stored


def revise(
    conn: Connection, actor: Principal, item_id: str, changes: dict[str, Any], reason: str, now: datetime
) -> StoredItem:
    """A correction: the next version, and a notice to everyone who received an earlier one."""
    if len(reason.strip()) < MIN_REASON:
        raise InvalidInput(f"say what was corrected, in at least {MIN_REASON} characters")
    stored = owned(conn, actor, item_id)
    try:
        item = stored.item.revise(now, **changes)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(str(exc)) from None
    check_submission(item)
    audit.record(conn, actor.username, "intel.item.revise", "intel_item", item_id, {"version": item.version})
    saved = save_item(conn, replace(stored, item=item), next_seq(conn))
    _notify_recipients(
        conn, item_id, "correction", f"corrected to version {item.version}: {reason.strip()}", now
    )
    enqueue(conn, Event(REVISED, access_payload(saved)))
    return saved


def share(conn: Connection, actor: Principal, item_id: str, sharing: Sharing, now: datetime) -> StoredItem:
    """Widen an item's audience; logged per recipient with the reason."""
    if sharing.is_empty:
        raise InvalidInput("name at least one agency, user, sharing group or partner instance")
    stored = owned(conn, actor, item_id)
    _check_sharing(conn, stored.item, sharing, now)
    audience = Audience(
        stored.audience.agencies | sharing.agencies,
        stored.audience.users | sharing.users,
        stored.audience.groups | sharing.groups,
    )
    item = replace(stored.item, distribution=stored.item.distribution | sharing.instances)
    audit.record(conn, actor.username, "intel.item.share", "intel_item", item_id, {"reason": sharing.reason})
    saved = save_item(conn, replace(stored, item=item, audience=audience), next_seq(conn))
    _disseminate(conn, actor, saved, sharing, "share", now)
    enqueue(conn, Event(SHARED, access_payload(saved)))
    return saved


def _disseminate(
    conn: Connection, actor: Principal, stored: StoredItem, sharing: Sharing, channel: str, now: datetime
) -> None:
    item = stored.item
    targets: list[tuple[str, str, str | None]] = [("agency", a, a) for a in sorted(sharing.agencies)]
    targets += [("user", u, None) for u in sorted(sharing.users)]
    targets += [("group", g, None) for g in sorted(sharing.groups)]
    targets += [("instance", i, None) for i in sorted(sharing.instances)]
    log_dissemination(
        conn,
        [
            dissemination_row(
                item,
                channel,
                actor.username,
                kind,
                target,
                sharing.reason,
                needs_sanitising(item, agency),
                now,
            )
            for kind, target, agency in targets
        ],
    )


def dissemination_row(
    item: IntelItem,
    channel: str,
    actor: str,
    kind: str,
    recipient: str,
    reason: str,
    sanitised: bool,
    at: datetime,
) -> dict[str, Any]:
    return {
        "item_id": str(item.id),
        "item_version": item.version,
        "channel": channel,
        "actor": actor,
        "recipient_kind": kind,
        "recipient": recipient,
        "reason": reason.strip(),
        "sanitised": sanitised,
        "at": at,
    }


def log_dissemination(conn: Connection, entries: list[dict[str, Any]]) -> None:
    if entries:
        conn.execute(insert(intel_disseminations), entries)


def _notify_recipients(conn: Connection, item_id: str, kind: str, message: str, now: datetime) -> int:
    d = intel_disseminations
    recipients = conn.execute(
        select(d.c.recipient_kind, d.c.recipient).where(d.c.item_id == item_id).distinct()
    ).all()
    if recipients:
        conn.execute(
            insert(intel_notices),
            [
                {
                    "item_id": item_id,
                    "kind": kind,
                    "recipient_kind": r.recipient_kind,
                    "recipient": r.recipient,
                    "text": message[:1000],
                    "at": now,
                }
                for r in recipients
            ],
        )
    return len(recipients)


def retire(conn: Connection, stored: StoredItem, status: str, reason: str, now: datetime) -> StoredItem:
    """Revoke or purge: the content goes, the marking, distribution and version stay (the
    tombstone travels as far as the item did)."""
    item = stored.item
    blank = replace(
        item,
        title=f"[{status}]",
        body="",
        source_ref=None,
        source_description=None,
        attachments=(),
        observables=(),
        sanitised=False,
        sanitised_note=None,
    )
    saved = save_item(conn, replace(stored, item=blank, status=status), next_seq(conn))
    conn.execute(
        update(intel_items)
        .where(intel_items.c.id == str(item.id))
        .values(revoked_at=now, revoke_reason=reason[:500])
    )
    _notify_recipients(conn, str(item.id), "revocation" if status == REVOKED_STATUS else "purge", reason, now)
    enqueue(conn, Event(REVOKED, access_payload(saved)))
    return saved


def revoke(conn: Connection, actor: Principal, item_id: str, reason: str, now: datetime) -> StoredItem:
    if len(reason.strip()) < MIN_REASON:
        raise InvalidInput(f"give a reason of at least {MIN_REASON} characters for revoking the item")
    stored = owned(conn, actor, item_id)
    audit.record(conn, actor.username, "intel.item.revoke", "intel_item", item_id, {"reason": reason})
    return retire(conn, stored, REVOKED_STATUS, reason.strip(), now)


def run_review(conn: Connection, actor: str, now: datetime) -> dict[str, int]:
    """The review clock: purge every item past its review date plus the grace period.

    Hiding needs no job (every read path filters on the review date); purging removes the
    content and notifies earlier recipients."""
    candidates = conn.execute(
        select(intel_items).where(intel_items.c.status == ACTIVE, intel_items.c.review_at <= now)
    ).all()
    counts = {"hidden": 0, "purged": 0}
    for stored in rows.load(conn, candidates):
        state = review_state(stored.item, now)
        if state != "purge":
            counts["hidden"] += 1
            continue
        item_id = str(stored.item.id)
        audit.record(
            conn,
            actor,
            "intel.item.purge",
            "intel_item",
            item_id,
            {"review_at": stored.item.review_date.isoformat()},
        )
        retire(conn, stored, PURGED, "review date passed without re-justification; purged", now)
        counts["purged"] += 1
    return counts


def revalidate(
    conn: Connection, actor: Principal, item_id: str, review_at: datetime, reason: str, now: datetime
) -> StoredItem:
    """Keep an item for another period, with the reason (re-justification)."""
    if review_at <= now:
        raise InvalidInput("the new review date must be in the future")
    stored = rows.fetch(conn, item_id)
    if (
        stored is None
        or stored.status != ACTIVE
        or not can(actor, Action.INTEL_WRITE, Resource(agency_id=stored.item.originator.agency_id))
    ):
        raise NotFound("no such intelligence item")
    return revise(conn, actor, item_id, {"review_at": review_at}, reason, now)


def release(
    conn: Connection,
    actor: Principal,
    item_id: str,
    recipient: Principal,
    justification: str,
    review_by: datetime,
    now: datetime,
) -> str:
    """Imminent danger: a sanitised copy to a non-law-enforcement official, justified and
    reviewed later. The copy is frozen in the release; the official reads only that."""
    stored = owned(conn, actor, item_id)
    copy = sanitise(stored.item)
    decision = release_for_imminent_danger(copy, recipient, justification, review_by, now)
    release_id = new_id()
    audit.record(
        conn,
        actor.username,
        "intel.item.release",
        "intel_item",
        item_id,
        {"recipient": recipient.user_id, "justification": decision.justification},
    )
    conn.execute(
        insert(intel_danger_releases).values(
            id=release_id,
            item_id=item_id,
            item_version=copy.version,
            recipient_user_id=recipient.user_id,
            recipient_agency_id=recipient.agency_id,
            justification=decision.justification,
            released_by=actor.username,
            released_at=now,
            review_by=review_by,
            copy=wire.item_record(copy),
        )
    )
    log_dissemination(
        conn,
        [
            dissemination_row(
                copy, "release", actor.username, "user", recipient.user_id, decision.justification, True, now
            )
        ],
    )
    return release_id


def releases_for(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    r = intel_danger_releases
    found = conn.execute(
        select(r).where(r.c.recipient_user_id == user_id).order_by(r.c.released_at.desc())
    ).all()
    return [dict(row._mapping) for row in found]
