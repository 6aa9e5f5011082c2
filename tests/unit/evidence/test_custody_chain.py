"""The custody chain rule, without a database: every kind of tampering names its entry."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from khusela.audit.chain import GENESIS, canonical
from khusela.core.errors import InvalidInput
from khusela.evidence.custody import CustodyEntry, check_chain, entry_hash
from khusela.evidence.locker import normalise_case_number

CASE = "case-1"


def chain(n: int) -> list[CustodyEntry]:
    out, prev = [], GENESIS
    start = datetime(2026, 11, 22, 8, tzinfo=UTC)
    for seq in range(1, n + 1):
        at = start + timedelta(minutes=seq)
        details = canonical({"n": seq})
        digest = entry_hash(CASE, seq, at, "thandi", "viewed", None, details, prev)
        out.append(CustodyEntry(CASE, seq, at, "thandi", "viewed", None, details, prev, digest))
        prev = digest
    return out


def test_an_intact_chain_passes_and_round_trips_through_json() -> None:
    log = chain(5)
    assert check_chain(CASE, log, 5, log[-1].hash).ok
    again = [CustodyEntry.from_json(e.as_json()) for e in log]
    assert again == log


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        (lambda log: [*log[:2], dataclasses.replace(log[2], actor="mallory"), *log[3:]], 3, "content"),
        (lambda log: [*log[:2], *log[3:]], 3, "missing"),
        (lambda log: [log[0], log[2], log[1], *log[3:]], 2, "missing"),
        (lambda log: [*log[:3], log[2], *log[3:]], 3, "out of order"),
        (lambda log: log[:4], 5, "removed"),
        (lambda log: [dataclasses.replace(log[0], case_id="other"), *log[1:]], 1, "another case"),
    ],
    ids=["edited", "deleted", "reordered", "repeated", "truncated", "moved"],
)
def test_tampering_names_the_entry(tamper: object, seq: int, reason: str) -> None:
    log = chain(5)
    result = check_chain(CASE, tamper(log), 5, log[-1].hash)  # type: ignore[operator]
    assert not result.ok
    assert result.first_bad_seq == seq
    assert reason in result.reason
    assert f"custody entry {seq}" in result.describe()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CAS 123/11/2026", "CAS 123/11/2026"),
        ("cas 7 / 1 / 2025", "CAS 7/1/2025"),
        ("CAS0042/03/2024", "CAS 42/3/2024"),
    ],
)
def test_case_numbers_are_normalised(raw: str, expected: str) -> None:
    assert normalise_case_number(raw) == expected


@pytest.mark.parametrize(
    "raw", ["123/11/2026", "CAS 123/13/2026", "CAS 0/1/2026", "CAS 1/1/26", "OB 5/1/2026"]
)
def test_bad_case_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="CAS 123/11/2026"):
        normalise_case_number(raw)
