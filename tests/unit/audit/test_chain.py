"""The hash of a record depends on every field and on the record before it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from khusela.audit.chain import GENESIS, AuditRecord, canonical, recompute, record_hash

AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _record() -> AuditRecord:
    digest = record_hash(1, AT, "operator", "panic.read", "alert", "a1", "{}", GENESIS)
    return AuditRecord(1, AT, "operator", "panic.read", "alert", "a1", "{}", GENESIS, digest)


def test_recompute_matches() -> None:
    assert recompute(_record()) == _record().hash


@given(
    st.sampled_from(["actor", "action", "object_type", "object_id", "details", "prev_hash"]),
    st.text(min_size=1),
)
def test_any_changed_field_changes_the_hash(field: str, value: str) -> None:
    original = _record()
    changed = replace(original, **{field: getattr(original, field) + value})
    assert recompute(changed) != original.hash


def test_time_and_sequence_are_covered() -> None:
    original = _record()
    assert recompute(replace(original, seq=2)) != original.hash
    assert recompute(replace(original, at=AT.replace(microsecond=1))) != original.hash


def test_canonical_json_ignores_key_order() -> None:
    assert canonical({"b": 1, "a": [1, 2]}) == canonical({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
