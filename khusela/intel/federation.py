"""What one Khusela instance sends another, signed, and how the receiver applies it.

Pure functions the lead's sync endpoint calls in order:
``select_for_partner`` → ``build_envelope`` (sender); ``verify_envelope`` → ``merge`` (receiver).

Rules: an item goes to a partner only if its distribution names the partner, its TLP lets it
leave its instance (CLEAR, GREEN, AMBER; never AMBER+STRICT or RED) and no NOFED caveat
forbids it; it is sanitised where the handling rules say so; it never goes back to the instance
that wrote it or that sent it here. Items carry (id, version): the receiver applies each version
once, never lets an older version replace a newer one, and tombstones carry revocations and
purges along the same paths the item travelled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from khusela.intel.errors import EnvelopeRejected
from khusela.intel.handling import needs_sanitising, review_state
from khusela.intel.markings import Caveat, Marking
from khusela.intel.model import Entity, EntityLink, IntelItem, ItemLink, Tombstone, tombstone
from khusela.intel.sanitise import sanitise
from khusela.intel.signing import key_id, sign, verify
from khusela.intel.stix import Exchange, from_bundle, to_json

ENVELOPE_VERSION = 1
Record = IntelItem | Tombstone


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner instance (another province) as configured by an administrator."""

    instance: str
    public_key: Ed25519PublicKey | None = None


def _origin(record: Record) -> str:
    return record.originator.instance if isinstance(record, IntelItem) else record.origin_instance


def _may_leave(marking: Marking) -> bool:
    return marking.tlp.leaves_instance and Caveat.NO_FEDERATION.value not in marking.caveats


def refusal(record: Record, partner: str) -> str | None:
    """Why `record` may not go to `partner`, or None when it may."""
    if not _may_leave(record.marking):
        return f"{record.marking.tlp.label} or its caveats keep it inside its instance"
    if _origin(record) == partner:
        return "it came from that instance"
    if record.received_from == partner:
        return "that instance sent it here"
    if partner not in record.distribution:
        return "its distribution does not include that instance"
    if isinstance(record, IntelItem) and record.grade is None:
        return "it has not been graded and submitted"
    return None


def select_for_partner(
    items: Iterable[IntelItem], partner: Partner | str, now: datetime, tombstones: Iterable[Tombstone] = ()
) -> list[Record]:
    """The records to send `partner`, ordered by id: items (sanitised where required) and
    tombstones. An item past its review date travels as a tombstone, so partners hide it too."""
    target = partner.instance if isinstance(partner, Partner) else partner
    chosen: list[Record] = []
    for item in items:
        record: Record = item
        if review_state(item, now) in {"hidden", "purge"}:
            record = tombstone(item, item.review_date, "review date passed without re-justification")
        if refusal(record, target) is not None:
            continue
        if isinstance(record, IntelItem) and needs_sanitising(record, None):
            record = sanitise(record)
        chosen.append(record)
    chosen += [t for t in tombstones if refusal(t, target) is None]
    return sorted(chosen, key=lambda r: (str(r.id), r.version))


@dataclass(frozen=True, slots=True)
class Received:
    """A verified envelope: who sent it, where it sits in their sequence, and what it holds."""

    origin: str
    target: str
    sequence: int
    cursor: str
    exchange: Exchange


def _signed_part(envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in envelope.items() if k != "signature"}


def build_envelope(
    records: Iterable[Record],
    *,
    origin: str,
    target: str,
    sequence: int,
    cursor: str,
    private_key: Ed25519PrivateKey,
    now: datetime,
    entities: Iterable[Entity] = (),
    entity_links: Iterable[EntityLink] = (),
    item_links: Iterable[ItemLink] = (),
) -> dict[str, Any]:
    """The signed JSON envelope for `target`. Re-checks every record, so a caller that skipped
    `select_for_partner` still cannot leak a RED item or an unsanitised source."""
    records = list(records)
    for record in records:
        reason = refusal(record, target)
        if reason is not None:
            raise ValueError(f"{record.id} may not go to {target}: {reason}")
        if isinstance(record, IntelItem) and needs_sanitising(record, None):
            raise ValueError(f"{record.id} must be sanitised before it goes to {target}")
    entities = [e for e in entities if _may_leave(e.marking)]
    kept = {e.id for e in entities}
    entity_links = [lk for lk in entity_links if lk.source in kept and lk.target in kept]
    item_links = [lk for lk in item_links if lk.entity in kept]
    if sequence < 0:
        raise ValueError("sequence numbers start at 0")
    exchange = Exchange(
        tuple(r for r in records if isinstance(r, IntelItem)),
        tuple(r for r in records if isinstance(r, Tombstone)),
        tuple(entities),
        tuple(entity_links),
        tuple(item_links),
    )
    envelope: dict[str, Any] = {
        "khusela_envelope": ENVELOPE_VERSION,
        "origin": origin,
        "target": target,
        "sequence": sequence,
        "cursor": cursor,
        "created": now.isoformat(),
        "key_id": key_id(private_key.public_key()),
        "bundle": to_json(exchange),
    }
    envelope["signature"] = sign(envelope, private_key)
    return envelope


def verify_envelope(
    envelope: Mapping[str, Any], *, local_instance: str, partner_keys: Mapping[str, Ed25519PublicKey]
) -> Received:
    """Check an envelope is addressed here, signed by the key we hold for its origin, and holds
    a valid marked bundle; refuse it whole otherwise."""
    try:
        origin, target = str(envelope["origin"]), str(envelope["target"])
        sequence, cursor = int(envelope["sequence"]), str(envelope["cursor"])
        signature = str(envelope["signature"])
        bundle = envelope["bundle"]
    except (KeyError, TypeError, ValueError):
        raise EnvelopeRejected(
            "the envelope lacks origin, target, sequence, cursor, bundle or signature"
        ) from None
    if envelope.get("khusela_envelope") != ENVELOPE_VERSION:
        raise EnvelopeRejected(f"unsupported envelope version {envelope.get('khusela_envelope')!r}")
    if target != local_instance:
        raise EnvelopeRejected(f"the envelope is addressed to {target!r}, not to this instance")
    if origin == local_instance:
        raise EnvelopeRejected("the envelope claims to come from this instance")
    key = partner_keys.get(origin)
    if key is None:
        raise EnvelopeRejected(f"no public key is configured for partner {origin!r}")
    if envelope.get("key_id") != key_id(key) or not verify(_signed_part(envelope), signature, key):
        raise EnvelopeRejected(f"the signature does not match the key held for {origin!r}")
    return Received(origin, target, sequence, cursor, from_bundle(bundle))


SequenceState = Literal["next", "replay", "gap"]


def sequence_state(last_applied: int | None, received: int) -> SequenceState:
    """Where a received sequence number sits: a replay is harmless (merge is idempotent), a gap
    means envelopes were lost and the receiver should ask from its cursor again."""
    expected = 0 if last_applied is None else last_applied + 1
    if received < expected:
        return "replay"
    return "next" if received == expected else "gap"


class Action(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    KEEP = "keep"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class LocalVersion:
    """What the receiver holds for an id: the version, and whether it is a tombstone."""

    version: int
    tombstoned: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    id: uuid.UUID
    action: Action
    reason: str
    record: Record | None = None


def _decide_tombstone(stone: Tombstone, held: LocalVersion | None) -> tuple[Action, str]:
    if held is None:
        return Action.DELETE, "revoked before it arrived; keep the tombstone"
    if held.tombstoned and held.version >= stone.version:
        return Action.KEEP, "already revoked"
    if stone.version < held.version:
        return Action.KEEP, "a newer version supersedes this revocation"
    return Action.DELETE, "revoked by its originator"


def _decide_item(item: IntelItem, held: LocalVersion | None) -> tuple[Action, str]:
    if held is None:
        return Action.INSERT, "new item"
    if held.tombstoned and item.version <= held.version:
        return Action.KEEP, "revoked here at this version or later"
    if item.version > held.version:
        return Action.UPDATE, f"version {item.version} replaces {held.version}"
    if item.version == held.version:
        return Action.KEEP, "already held at this version"
    return Action.KEEP, f"older than the version {held.version} held here"


def _decide(record: Record, held: LocalVersion | None, received: Received, local: str) -> Decision:
    if _origin(record) == local:
        return Decision(record.id, Action.REFUSE, "this instance wrote it; it does not come back")
    if not _may_leave(record.marking):
        return Decision(record.id, Action.REFUSE, f"{record.marking.tlp.label} may not leave its instance")
    if isinstance(record, Tombstone):
        action, reason = _decide_tombstone(record, held)
    else:
        action, reason = _decide_item(record, held)
    stamped = replace(record, received_from=received.origin) if action is not Action.KEEP else None
    return Decision(record.id, action, reason, stamped)


def merge(
    local_versions: Mapping[uuid.UUID, LocalVersion], incoming: Received, local_instance: str
) -> list[Decision]:
    """One decision per incoming record, in bundle order. Applying the decisions, then merging
    the same envelope again, yields only KEEP: the exchange is idempotent."""
    held = dict(local_versions)
    records: list[Record] = [*incoming.exchange.items, *incoming.exchange.tombstones]
    decisions = []
    for record in sorted(records, key=lambda r: (str(r.id), r.version)):
        decision = _decide(record, held.get(record.id), incoming, local_instance)
        if decision.action in {Action.INSERT, Action.UPDATE, Action.DELETE}:
            held[record.id] = LocalVersion(record.version, decision.action is Action.DELETE)
        decisions.append(decision)
    return decisions
