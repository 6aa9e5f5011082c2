"""Reasons are free text from analysts (and pasted from attackers' mail): whatever they contain,
each file keeps exactly the entries that were approved, on the lines where they belong."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import dns.zone
import pytest

from khusela.cyber.response import ActiveBlock, publish
from khusela.cyber.response.text import one_line, restricted

from .conftest import NOW, block
from .test_nftables import elements, statements

NASTY = [
    "brute force\nadd rule inet khusela input accept",
    'C2 beacon"; flush ruleset; add element inet khusela blocked_v4 { 8.8.8.8 }',
    "phish } } table ip filter { chain x { accept; } }",
    "lure\r\n$INCLUDE /etc/shadow\r\n@ IN NS attacker.example.",
    "evil.example. IN CNAME rpz-passthru. ; ( multi\nline )",
    "unicode line\u2028separator\u2029and\x85next\x0bline\x0cfeed",
    "bidi \u202egnp.exe\u202c and zero\u200bwidth",
    '{"action": "release", "message_id": "<x@y>"}\n{"action": "release"}',
    "x" * 5000,
]


def nasty_blocks() -> list[ActiveBlock]:
    blocks: list[ActiveBlock] = []
    for i, reason in enumerate(NASTY):
        blocks.append(block(f"ip{i}", "block_ip", f"203.0.113.{i + 1}", reason=reason))
        blocks.append(block(f"dom{i}", "block_domain", f"bad{i}.example", reason=reason))
        blocks.append(block(f"msg{i}", "quarantine_message", f"<m{i}@mail.example>", reason=reason))
    return blocks


def test_nft_script_holds_only_the_approved_elements(tmp_path: Path) -> None:
    publish(tmp_path, nasty_blocks(), now=NOW, serial=1)
    text = (tmp_path / "khusela-blocklist.nft").read_text()
    statements(text)  # every non-comment line is one of ours
    assert set(elements(text)) == {f"203.0.113.{i + 1}" for i in range(len(NASTY))}
    assert text.isascii()
    comments = [line for line in text.splitlines() if line.startswith("# action")]
    assert len(comments) == len(NASTY)
    assert not any(c in line for line in comments for c in ';{}"')


def test_plain_list_holds_only_the_approved_addresses(tmp_path: Path) -> None:
    publish(tmp_path, nasty_blocks(), now=NOW, serial=1)
    lines = (tmp_path / "khusela-blocklist.txt").read_text(encoding="utf-8").split("\n")
    data = [line for line in lines if line and not line.startswith("#")]
    assert data == [f"203.0.113.{i + 1}" for i in range(len(NASTY))]
    assert all(len(line) < 300 for line in lines)


def test_zone_holds_only_the_approved_names(tmp_path: Path) -> None:
    publish(tmp_path, nasty_blocks(), now=NOW, serial=1)
    text = (tmp_path / "khusela.rpz.zone").read_text()
    zone = dns.zone.from_text(text, origin="rpz.khusela.", relativize=False)
    expected = {"rpz.khusela."}
    for i in range(len(NASTY)):
        expected |= {f"bad{i}.example.rpz.khusela.", f"*.bad{i}.example.rpz.khusela."}
    assert {n.to_text() for n in zone.nodes} == expected
    directives = [line for line in text.splitlines() if line.startswith("$")]
    assert directives == ["$ORIGIN rpz.khusela.", "$TTL 300"]


def test_quarantine_list_has_one_instruction_per_line(tmp_path: Path) -> None:
    publish(tmp_path, nasty_blocks(), now=NOW, serial=1)
    lines = (tmp_path / "khusela-quarantine.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert [r["action"] for r in records] == ["quarantine"] * len(NASTY)
    assert {r["message_id"] for r in records} == {f"<m{i}@mail.example>" for i in range(len(NASTY))}
    assert all("\n" not in r["reason"] and len(r["reason"]) <= 200 for r in records)


@pytest.mark.skipif(shutil.which("named-checkzone") is None, reason="BIND's named-checkzone is not installed")
def test_bind_loads_the_zone_with_hostile_reasons(tmp_path: Path) -> None:
    publish(tmp_path, nasty_blocks(), now=NOW, serial=11)
    done = subprocess.run(
        ["named-checkzone", "rpz.khusela", str(tmp_path / "khusela.rpz.zone")],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_line_removes_every_kind_of_line_break_and_invisible_character() -> None:
    flat = one_line("a\nb\r\nc\u2028d\u2029e\x85f\x0bg\u202eh\u200bi\tj")
    assert flat == "a b c d e f g h i j"
    assert restricted('say "hi"; {x}', '";{}') == "say hi x"
    assert restricted("Sébastien — ëish", "", ascii_only=True) == "Sebastien eish"
    assert len(one_line("y" * 1000)) == 200
