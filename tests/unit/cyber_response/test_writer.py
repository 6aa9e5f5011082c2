"""Publishing: all four files, always, replaced atomically; a failed publish changes nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import stat
from pathlib import Path

import pytest

from khusela.cyber.response import ActiveBlock, InvalidTarget, PublishFailed, ZoneRejected, publish
from khusela.cyber.response.writer import (
    BLOCKLIST_FILE,
    NFTABLES_FILE,
    QUARANTINE_FILE,
    RPZ_FILE,
    render_all,
    write_all,
)

from .conftest import NOW, block

NAMES = (NFTABLES_FILE, BLOCKLIST_FILE, RPZ_FILE, QUARANTINE_FILE)
SOME = [
    block("ip1", "block_ip", "203.0.113.7", hours=2),
    block("ip2", "block_ip", "2001:db8::/48", hours=None),
    block("dom1", "block_domain", "login-sars.example"),
    block("msg1", "quarantine_message", "<CAF123@mail.evil.example>", reason="invoice lure"),
]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_publish_writes_all_four_files_and_reports_their_hashes(tmp_path: Path) -> None:
    files = publish(tmp_path, SOME, now=NOW, serial=7)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
    assert [f.path.name for f in files.all()] == list(NAMES)
    for written in files.all():
        assert written.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()
        assert stat.S_IMODE(written.path.stat().st_mode) == 0o644
    assert (files.nftables.entries, files.blocklist.entries, files.rpz.entries, files.quarantine.entries) == (
        2,
        2,
        1,
        1,
    )
    assert files.serial == 7
    assert files.published_at == NOW
    txt = (tmp_path / BLOCKLIST_FILE).read_text().splitlines()
    assert [line for line in txt if not line.startswith("#")] == ["203.0.113.7", "2001:db8::/48"]
    assert "# action ip1 until 2026-03-01T12:00:00Z — approved by the duty analyst" in txt
    assert "# action ip2 until revoked — approved by the duty analyst" in txt
    record = json.loads((tmp_path / QUARANTINE_FILE).read_text())
    assert record == {
        "action": "quarantine",
        "message_id": "<CAF123@mail.evil.example>",
        "action_id": "msg1",
        "until": "2026-03-01T11:00:00Z",
        "reason": "invoice lure",
    }


def test_reverting_the_last_action_clears_every_file(tmp_path: Path) -> None:
    publish(tmp_path, SOME, now=NOW, serial=1)
    files = publish(tmp_path, [], now=NOW, serial=2)
    assert [f.entries for f in files.all()] == [0, 0, 0, 0]
    assert "add element" not in (tmp_path / NFTABLES_FILE).read_text()
    assert "flush set inet khusela blocked_v4" in (tmp_path / NFTABLES_FILE).read_text()
    assert [ln for ln in (tmp_path / BLOCKLIST_FILE).read_text().splitlines() if not ln.startswith("#")] == []
    assert "CNAME" not in (tmp_path / RPZ_FILE).read_text()
    assert (tmp_path / QUARANTINE_FILE).read_bytes() == b""


def test_expired_blocks_are_left_out_of_every_file(tmp_path: Path) -> None:
    lapsed = [
        block("old-ip", "block_ip", "192.0.2.55", hours=-1),
        block("old-dom", "block_domain", "stale.example", hours=0),
        block("old-msg", "quarantine_message", "<old@host>", hours=-0.01),
    ]
    publish(tmp_path, [*SOME, *lapsed], now=NOW, serial=3)
    everything = b"".join(snapshot(tmp_path).values()).decode()
    for gone in ("192.0.2.55", "stale.example", "<old@host>", "old-ip", "old-dom", "old-msg"):
        assert gone not in everything
    assert "login-sars.example" in everything


def test_a_publish_creates_its_directory(tmp_path: Path) -> None:
    publish(tmp_path / "response" / "out", SOME, now=NOW, serial=1)
    assert len(list((tmp_path / "response" / "out").iterdir())) == 4


def test_a_zone_that_fails_its_check_replaces_nothing(tmp_path: Path) -> None:
    publish(tmp_path, SOME, now=NOW, serial=1)
    before = snapshot(tmp_path)
    rendered = render_all([*SOME, block("dom2", "block_domain", "second.example")], now=NOW, serial=2)
    broken = dataclasses.replace(rendered, rpz=rendered.rpz + "second.example IN TXT ( unterminated\n")
    with pytest.raises(ZoneRejected, match="does not parse"):
        write_all(tmp_path, broken)
    assert snapshot(tmp_path) == before


def test_a_stored_target_that_no_longer_passes_its_check_stops_the_publish(tmp_path: Path) -> None:
    publish(tmp_path, SOME, now=NOW, serial=1)
    before = snapshot(tmp_path)
    hand_edited = ActiveBlock("dom9", "block_domain", "evil.example\n* IN NS attacker.", None, "x")
    with pytest.raises(InvalidTarget, match="action dom9"):
        publish(tmp_path, [*SOME, hand_edited], now=NOW, serial=2)
    assert snapshot(tmp_path) == before


def test_a_file_that_cannot_be_replaced_leaves_the_others_as_they_were(tmp_path: Path) -> None:
    publish(tmp_path, SOME, now=NOW, serial=1)
    (tmp_path / QUARANTINE_FILE).unlink()
    (tmp_path / QUARANTINE_FILE).mkdir()  # e.g. an operator's mistake: a directory in the way
    (tmp_path / QUARANTINE_FILE / "keep").write_text("x")
    before = snapshot(tmp_path)
    with pytest.raises(PublishFailed, match="not a regular file"):
        publish(tmp_path, [], now=NOW, serial=2)
    assert snapshot(tmp_path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    for serial in range(1, 4):
        publish(tmp_path, SOME, now=NOW, serial=serial)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_all(SOME, now=NOW.replace(tzinfo=None), serial=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ActiveBlock("a", "block_ip", "203.0.113.7", NOW.replace(tzinfo=None), "x")
