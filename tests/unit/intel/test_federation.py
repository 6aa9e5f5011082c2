"""Federation between provincial instances: what leaves, signed envelopes, idempotent merge."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khusela.intel.errors import EnvelopeRejected
from khusela.intel.federation import (
    Action,
    LocalVersion,
    Partner,
    Record,
    build_envelope,
    merge,
    select_for_partner,
    sequence_state,
    verify_envelope,
)
from khusela.intel.grading import Grade
from khusela.intel.handling import PURGE_GRACE, needs_sanitising
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import IntelItem, Originator, Tombstone, tombstone
from khusela.intel.signing import generate_key, load_public_key, public_key_pem, sign
from khusela.intel.stix import Exchange, to_json
from tests.unit.intel.builders import T0, human_item, item
from tests.unit.intel.strategies import INSTANCES, items

GP, KZN, WC = "gauteng", "kwazulu-natal", "western-cape"
NOW = T0 + timedelta(days=1)


def _ids(records: list[Record]) -> list[tuple[str, int, str]]:
    return [(str(r.id)[:4], r.version, type(r).__name__) for r in records]


def test_an_amber_item_goes_to_partners_in_its_distribution_only() -> None:
    it = item(distribution=frozenset({KZN}))
    assert select_for_partner([it], Partner(KZN), NOW) == [it]
    assert select_for_partner([it], WC, NOW) == []


@pytest.mark.parametrize("tlp", [Tlp.AMBER_STRICT, Tlp.RED])
def test_amber_strict_and_red_never_leave_their_instance(tlp: Tlp) -> None:
    it = item(marking=Marking(tlp), distribution=frozenset({KZN, WC}))
    assert select_for_partner([it], KZN, NOW) == []


def test_a_nofed_caveat_keeps_even_clear_items_home() -> None:
    it = item(marking=Marking(Tlp.CLEAR, caveats=frozenset({"NOFED"})), distribution=frozenset({KZN}))
    assert select_for_partner([it], KZN, NOW) == []


def test_ungraded_items_are_not_shared() -> None:
    assert select_for_partner([item(grade=None)], KZN, NOW) == []


def test_an_item_never_goes_back_where_it_came_from() -> None:
    theirs = item(originator=Originator(KZN, "saps-ci-dbn"), distribution=frozenset({KZN, GP, WC}))
    assert select_for_partner([theirs], KZN, NOW) == []
    relayed = replace(theirs, originator=Originator(WC, "saps-ci-ct"), received_from=KZN)
    assert select_for_partner([relayed], KZN, NOW) == []


def test_a_received_item_is_relayed_only_if_its_distribution_names_the_third_instance() -> None:
    received = item(
        originator=Originator(KZN, "saps-ci-dbn"), received_from=KZN, distribution=frozenset({GP})
    )
    assert select_for_partner([received], WC, NOW) == []
    allowed = replace(received, distribution=frozenset({GP, WC}))
    assert select_for_partner([allowed], WC, NOW) == [allowed]


def test_handling_c_and_human_sources_leave_only_sanitised() -> None:
    humint = human_item(distribution=frozenset({KZN}))
    conditions = item(id=uuid.uuid4(), grade=Grade.parse("C3 C"), distribution=frozenset({KZN}))
    sent = select_for_partner([humint, conditions], KZN, NOW)
    assert len(sent) == 2
    for record in sent:
        assert isinstance(record, IntelItem)
        assert record.sanitised
        assert record.source_ref is None
        assert record.originator.author_id is None


def test_items_past_review_travel_as_tombstones_so_partners_hide_them_too() -> None:
    it = item(distribution=frozenset({KZN}))
    (sent,) = select_for_partner([it], KZN, it.review_date + timedelta(days=1))
    assert isinstance(sent, Tombstone)
    assert (sent.id, sent.version) == (it.id, it.version)
    (purged,) = select_for_partner([it], KZN, it.review_date + PURGE_GRACE)
    assert isinstance(purged, Tombstone)


def test_revocations_follow_the_same_gates_as_items() -> None:
    amber = tombstone(item(distribution=frozenset({KZN})), NOW, "withdrawn")
    red = tombstone(item(id=uuid.uuid4(), marking=Marking(Tlp.RED), distribution=frozenset({KZN})), NOW, "x")
    assert select_for_partner([], KZN, NOW, tombstones=[amber, red]) == [amber]
    assert select_for_partner([], WC, NOW, tombstones=[amber]) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items(), max_size=4), st.sampled_from(INSTANCES), st.integers(0, 20 * 365))
def test_selection_never_leaks_whatever_else_is_true(batch: list[IntelItem], partner: str, days: int) -> None:
    now = datetime(2020, 1, 1, tzinfo=T0.tzinfo) + timedelta(days=days)
    for record in select_for_partner(batch, partner, now):
        assert record.marking.tlp not in {Tlp.AMBER_STRICT, Tlp.RED}
        assert "NOFED" not in record.marking.caveats
        assert partner in record.distribution
        assert record.received_from != partner
        if isinstance(record, IntelItem):
            assert record.originator.instance != partner
            assert not needs_sanitising(record, None)
            assert record.grade is not None
        else:
            assert record.origin_instance != partner


# ------------------------------------------------------------------ envelopes


@dataclass
class Instance:
    """A provincial instance as the sync endpoint would drive it, with an in-memory store."""

    name: str
    key: Ed25519PrivateKey = field(default_factory=generate_key)
    store: dict[uuid.UUID, Record] = field(default_factory=dict)
    partners: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    sequence: int = 0

    def trust(self, other: Instance) -> None:
        """Keys travel out of band as PEM."""
        self.partners[other.name] = load_public_key(public_key_pem(other.key.public_key()))

    def send(self, target: str, now: datetime = NOW) -> dict[str, Any]:
        items = [r for r in self.store.values() if isinstance(r, IntelItem)]
        stones = [r for r in self.store.values() if isinstance(r, Tombstone)]
        records = select_for_partner(items, target, now, stones)
        envelope = build_envelope(
            records,
            origin=self.name,
            target=target,
            sequence=self.sequence,
            cursor=now.isoformat(),
            private_key=self.key,
            now=now,
        )
        self.sequence += 1
        return envelope

    def receive(self, envelope: dict[str, Any]) -> list[Action]:
        received = verify_envelope(envelope, local_instance=self.name, partner_keys=self.partners)
        versions = {k: LocalVersion(v.version, isinstance(v, Tombstone)) for k, v in self.store.items()}
        decisions = merge(versions, received, self.name)
        for d in decisions:
            if d.record is not None:
                self.store[d.id] = d.record
        return [d.action for d in decisions]


def _federation() -> tuple[Instance, Instance, Instance]:
    gp, kzn, wc = Instance(GP), Instance(KZN), Instance(WC)
    for a in (gp, kzn, wc):
        for b in (gp, kzn, wc):
            if a is not b:
                a.trust(b)
    return gp, kzn, wc


def test_an_envelope_verifies_and_carries_the_records_exactly() -> None:
    gp, kzn, _ = _federation()
    humint = human_item(distribution=frozenset({KZN}))
    gp.store[humint.id] = humint
    envelope = gp.send(KZN)
    json.loads(json.dumps(envelope))  # plain JSON, ready for HTTP
    received = verify_envelope(envelope, local_instance=KZN, partner_keys=kzn.partners)
    assert (received.origin, received.sequence) == (GP, 0)
    (got,) = received.exchange.items
    assert got.sanitised
    assert got.marking == humint.marking
    assert got.grade == humint.grade
    assert "SRC-GP-0042" not in json.dumps(envelope)


def test_tampering_with_any_part_breaks_the_signature() -> None:
    gp, kzn, _ = _federation()
    gp.store[item().id] = item(marking=Marking(Tlp.GREEN), distribution=frozenset({KZN}))
    envelope = gp.send(KZN)
    downgraded = json.loads(json.dumps(envelope))
    for obj in downgraded["bundle"]["objects"]:
        if obj["type"] == "report":
            obj["name"] = "changed in transit"
    with pytest.raises(EnvelopeRejected, match="signature does not match"):
        verify_envelope(downgraded, local_instance=KZN, partner_keys=kzn.partners)
    replayed_elsewhere = dict(envelope, sequence=99)
    with pytest.raises(EnvelopeRejected, match="signature does not match"):
        verify_envelope(replayed_elsewhere, local_instance=KZN, partner_keys=kzn.partners)


def test_envelopes_are_refused_when_misaddressed_unsigned_or_from_strangers() -> None:
    gp, kzn, wc = _federation()
    envelope = gp.send(KZN)
    with pytest.raises(EnvelopeRejected, match="addressed to 'kwazulu-natal'"):
        verify_envelope(envelope, local_instance=WC, partner_keys=wc.partners)
    with pytest.raises(EnvelopeRejected, match="no public key is configured for partner 'gauteng'"):
        verify_envelope(envelope, local_instance=KZN, partner_keys={})
    with pytest.raises(EnvelopeRejected, match="signature does not match"):
        verify_envelope(envelope, local_instance=KZN, partner_keys={GP: wc.key.public_key()})
    with pytest.raises(EnvelopeRejected, match="lacks origin"):
        verify_envelope(
            {k: v for k, v in envelope.items() if k != "signature"},
            local_instance=KZN,
            partner_keys=kzn.partners,
        )
    with pytest.raises(EnvelopeRejected, match="unsupported envelope version"):
        verify_envelope(dict(envelope, khusela_envelope=2), local_instance=KZN, partner_keys=kzn.partners)
    with pytest.raises(EnvelopeRejected, match="claims to come from this instance"):
        verify_envelope(dict(envelope, origin=KZN), local_instance=KZN, partner_keys=kzn.partners)


def test_build_envelope_refuses_what_select_would_not_send() -> None:
    key = generate_key()
    red = item(marking=Marking(Tlp.RED), distribution=frozenset({KZN}))
    with pytest.raises(ValueError, match="TLP:RED"):
        build_envelope([red], origin=GP, target=KZN, sequence=0, cursor="", private_key=key, now=NOW)
    with pytest.raises(ValueError, match="must be sanitised"):
        build_envelope(
            [human_item(distribution=frozenset({KZN}))],
            origin=GP,
            target=KZN,
            sequence=0,
            cursor="",
            private_key=key,
            now=NOW,
        )


def test_applying_the_same_envelope_twice_changes_nothing_the_second_time() -> None:
    gp, kzn, _ = _federation()
    for n in range(3):
        it = item(id=uuid.uuid4(), title=f"report {n}", distribution=frozenset({KZN}))
        gp.store[it.id] = it
    envelope = gp.send(KZN)
    assert kzn.receive(envelope) == [Action.INSERT] * 3
    before = dict(kzn.store)
    assert kzn.receive(envelope) == [Action.KEEP] * 3
    assert kzn.store == before
    assert all(r.received_from == GP for r in kzn.store.values())


def test_an_older_version_never_overwrites_a_newer_one() -> None:
    gp, kzn, _ = _federation()
    v1 = item(distribution=frozenset({KZN}))
    gp.store[v1.id] = v1
    old_envelope = gp.send(KZN)
    v2 = v1.revise(NOW, title="Buyer identified as a scrap dealer")
    gp.store[v1.id] = v2
    assert kzn.receive(gp.send(KZN)) == [Action.INSERT]  # version 2 arrives first
    assert kzn.receive(old_envelope) == [Action.KEEP]  # delayed delivery of version 1
    held = kzn.store[v1.id]
    assert isinstance(held, IntelItem)
    assert (held.version, held.title) == (2, "Buyer identified as a scrap dealer")


def test_a_revocation_propagates_and_a_late_copy_does_not_resurrect_the_item() -> None:
    gp, kzn, _ = _federation()
    it = item(distribution=frozenset({KZN}))
    gp.store[it.id] = it
    first = gp.send(KZN)
    kzn.receive(first)
    gp.store[it.id] = tombstone(it, NOW, "source retracted")
    assert kzn.receive(gp.send(KZN)) == [Action.DELETE]
    assert isinstance(kzn.store[it.id], Tombstone)
    assert kzn.receive(first) == [Action.KEEP]
    assert isinstance(kzn.store[it.id], Tombstone)


def test_relay_through_a_third_instance_without_loops() -> None:
    gp, kzn, wc = _federation()
    it = item(distribution=frozenset({KZN, WC}))
    gp.store[it.id] = it
    kzn.receive(gp.send(KZN))
    assert wc.receive(kzn.send(WC)) == [Action.INSERT]  # KZN relays: distribution names WC
    relayed = wc.store[it.id]
    assert isinstance(relayed, IntelItem)
    assert relayed.received_from == KZN
    assert select_for_partner([relayed], GP, NOW) == []  # never back to its origin
    assert select_for_partner([relayed], KZN, NOW) == []  # nor to whoever sent it
    assert wc.receive(gp.send(WC)) == [Action.KEEP]  # the direct copy is the same version
    # a partner that echoes our own item back is refused outright
    echo = sign_envelope(wc, GP, Exchange(items=(replace(it, received_from=None),)))
    assert gp.receive(echo) == [Action.REFUSE]


def sign_envelope(sender: Instance, target: str, exchange: Exchange) -> dict[str, Any]:
    """An envelope built by hand, as a misbehaving partner could, to test the receiver's checks."""
    envelope = build_envelope(
        [], origin=sender.name, target=target, sequence=5, cursor="", private_key=sender.key, now=NOW
    )
    envelope.pop("signature")
    envelope["bundle"] = to_json(exchange)
    envelope["signature"] = sign(envelope, sender.key)
    return envelope


def test_a_partner_sending_red_or_amber_strict_is_refused_item_by_item() -> None:
    gp, kzn, _ = _federation()
    red = item(originator=Originator(GP, "ssa"), marking=Marking(Tlp.RED), distribution=frozenset({KZN}))
    fine = item(id=uuid.uuid4(), distribution=frozenset({KZN}))
    expected = {red.id: Action.REFUSE, fine.id: Action.INSERT}
    actions = kzn.receive(sign_envelope(gp, KZN, Exchange(items=(red, fine))))
    assert actions == [expected[i] for i in sorted(expected, key=str)]
    assert red.id not in kzn.store
    assert fine.id in kzn.store


def test_sequence_numbers_reveal_replays_and_gaps() -> None:
    assert sequence_state(None, 0) == "next"
    assert sequence_state(4, 5) == "next"
    assert sequence_state(4, 4) == "replay"
    assert sequence_state(4, 7) == "gap"


def test_merge_works_on_versions_alone_without_the_records() -> None:
    it = item(version=3, distribution=frozenset({KZN}), originator=Originator(GP, "saps"))
    gp = Instance(GP)
    kzn = Instance(KZN)
    kzn.trust(gp)
    received = verify_envelope(
        build_envelope([it], origin=GP, target=KZN, sequence=0, cursor="", private_key=gp.key, now=NOW),
        local_instance=KZN,
        partner_keys=kzn.partners,
    )
    assert merge({it.id: LocalVersion(5)}, received, KZN)[0].action is Action.KEEP
    assert merge({it.id: LocalVersion(2)}, received, KZN)[0].action is Action.UPDATE
    assert merge({it.id: LocalVersion(3, tombstoned=True)}, received, KZN)[0].action is Action.KEEP
    assert merge({it.id: LocalVersion(2, tombstoned=True)}, received, KZN)[0].action is Action.UPDATE


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items(), st.sampled_from([Tlp.AMBER_STRICT, Tlp.RED]), st.sampled_from(INSTANCES))
def test_strict_and_red_stay_home_even_when_everything_else_invites_sharing(
    it: IntelItem, tlp: Tlp, partner: str
) -> None:
    inviting = replace(
        it,
        marking=replace(it.marking, tlp=tlp),
        distribution=it.distribution | {partner},
        originator=replace(it.originator, instance="free-state"),
        received_from=None,
        grade=it.grade or Grade.parse("A1 P"),
        review_at=NOW + timedelta(days=3650),
    )
    assert select_for_partner([inviting], partner, NOW) == []
    assert select_for_partner([], partner, NOW, [tombstone(inviting, NOW, "x")]) == []
    cleared = replace(inviting, marking=Marking(Tlp.GREEN))  # the same item at GREEN does go
    assert len(select_for_partner([cleared], partner, NOW)) == 1
