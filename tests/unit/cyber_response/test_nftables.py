"""The nftables script: its structure, one element per blocked range, and timeouts that let a
block lapse on its own."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khusela.cyber.response import ActiveBlock
from khusela.cyber.response.active import current
from khusela.cyber.response.nftables import MAX_TIMEOUT, disjoint, render

from .conftest import NOW, block

# Every statement a Khusela script may contain; anything else is an injection or a bug.
STATEMENTS = [
    r"table inet khusela \{",
    r"\tset blocked_v(4|6) \{",
    r"\t\ttype ipv(4|6)_addr",
    r"\t\tflags interval,timeout",
    r"\tchain (input|forward) \{",
    r"\t\ttype filter hook (input|forward) priority filter - 10; policy accept;",
    r"\t?\}",
    r"flush chain inet khusela (input|forward)",
    r"add rule inet khusela (input|forward) ip6? saddr @blocked_v(4|6) counter drop",
    r"flush set inet khusela blocked_v(4|6)",
    r"add element inet khusela blocked_v(4|6) \{ (?P<addr>[0-9a-f.:/]+)( timeout (?P<timeout>\d+)s)?"
    r' comment "action [A-Za-z0-9._:-]+( \+\d+ more)?" \}',
]
STATEMENT = re.compile("|".join(f"(?:{s})" for s in STATEMENTS))
ELEMENT = re.compile(STATEMENTS[-1])
NO_NFT = "nft is not installed here, so `nft -c -f` cannot check"


def statements(script: str) -> list[str]:
    """The script's non-comment lines, each checked against the allowed statements."""
    lines = [line for line in script.splitlines() if line and not line.startswith("#")]
    for line in lines:
        assert STATEMENT.fullmatch(line), f"unexpected nft statement: {line!r}"
    return lines


def elements(script: str) -> dict[str, int | None]:
    found = {}
    for line in statements(script):
        if match := ELEMENT.fullmatch(line):
            timeout = match.group("timeout")
            found[match.group("addr")] = int(timeout) if timeout else None
    return found


def script(*blocks: ActiveBlock) -> str:
    return render(current(blocks, NOW), serial=1)


def test_an_empty_script_still_creates_the_table_and_empties_both_sets() -> None:
    text = script()
    lines = statements(text)
    assert text.startswith("#!/usr/sbin/nft -f\n# Khusela")
    assert "2026-03-01T10:00:00Z" in text.splitlines()[1]
    assert "flush set inet khusela blocked_v4" in lines
    assert "flush set inet khusela blocked_v6" in lines
    assert elements(text) == {}
    assert text.count("{") == text.count("}")


def test_rules_are_flushed_before_they_are_added_so_reloading_does_not_pile_them_up() -> None:
    lines = statements(script(block("a1", "block_ip", "203.0.113.7")))
    for chain in ("input", "forward"):
        flush = lines.index(f"flush chain inet khusela {chain}")
        adds = [i for i, line in enumerate(lines) if line.startswith(f"add rule inet khusela {chain} ")]
        assert len(adds) == 2
        assert all(i > flush for i in adds)
    first_element = next(i for i, line in enumerate(lines) if line.startswith("add element"))
    assert lines.index("flush set inet khusela blocked_v4") < first_element


def test_each_element_times_out_when_its_block_expires() -> None:
    text = script(
        block("a1", "block_ip", "203.0.113.7", hours=1),
        block("a2", "block_ip", "198.51.100.0/24", hours=None),
        block("a3", "block_ip", "2001:db8::/48", hours=0.0001),  # 0.36 s left: rounds up
        block("a4", "block_ip", "192.0.2.1", hours=0),  # lapses exactly now
        block("a5", "block_ip", "192.0.2.2", hours=-3),  # lapsed three hours ago
    )
    assert elements(text) == {"203.0.113.7": 3600, "198.51.100.0/24": None, "2001:db8::/48": 1}


def test_very_long_blocks_are_capped_for_old_kernels_and_renewed_by_the_next_publish() -> None:
    text = script(block("a1", "block_ip", "203.0.113.7", hours=24 * 365))
    assert elements(text) == {"203.0.113.7": int(MAX_TIMEOUT.total_seconds())}


def test_the_same_address_in_two_actions_is_one_element_kept_for_the_longer() -> None:
    text = script(
        block("short", "block_ip", "203.0.113.7", hours=1),
        block("long", "block_ip", "203.0.113.7/32", hours=5),
    )
    assert elements(text) == {"203.0.113.7": 5 * 3600}
    assert "action long" in text
    assert "# action short until" in text


def test_a_longer_block_inside_a_network_splits_it_so_elements_never_overlap() -> None:
    text = script(
        block("net", "block_ip", "203.0.113.0/24", hours=1),
        block("host", "block_ip", "203.0.113.7", hours=48),
        block("inner", "block_ip", "203.0.113.128/25", hours=0.5),  # shorter: already covered
    )
    found = elements(text)
    assert found["203.0.113.7"] == 48 * 3600
    nets = [ipaddress.ip_network(addr) for addr in found]
    assert sum(n.num_addresses for n in nets) == 256
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert {t for addr, t in found.items() if addr != "203.0.113.7"} == {3600}


@st.composite
def nested_blocks(draw: st.DrawFn) -> list[ActiveBlock]:
    """Blocks inside 10.9.0.0/16 with random prefixes and ends, so they nest and overlap a lot."""
    blocks = []
    for i in range(draw(st.integers(1, 12))):
        prefix = draw(st.integers(16, 32))
        offset = draw(st.integers(0, 2**16 - 1)) >> (32 - prefix) << (32 - prefix)
        network = ipaddress.ip_network((int(ipaddress.ip_address("10.9.0.0")) + offset, prefix))
        hours = draw(st.one_of(st.none(), st.integers(1, 100)))
        blocks.append(block(f"a{i}", "block_ip", str(network), hours=hours))
    return blocks


@settings(max_examples=150, deadline=None)
@given(nested_blocks(), st.integers(0, 2**16 - 1))
def test_every_address_is_blocked_exactly_once_for_as_long_as_its_longest_block(
    blocks: list[ActiveBlock], probe_offset: int
) -> None:
    state = current(blocks, NOW)
    pieces = disjoint(state.ips)
    probe = ipaddress.ip_address(int(ipaddress.ip_address("10.9.0.0")) + probe_offset)
    holding = [p for p in pieces if probe in p.network]
    covering = [b for net, b in state.ips if probe in net]
    assert len(holding) == (1 if covering else 0)
    if covering:
        ends = [b.expires_at for b in covering]
        assert holding[0].expires_at == (None if None in ends else max(e for e in ends if e is not None))
    total = sum(p.network.num_addresses for p in pieces)
    v4 = [n for n, _ in state.ips if isinstance(n, ipaddress.IPv4Network)]
    assert total == sum(n.num_addresses for n in ipaddress.collapse_addresses(v4))


def test_elements_left_after_an_hour_reflect_the_time_already_served() -> None:
    a = block("a1", "block_ip", "203.0.113.7", hours=2)
    later = render(current([a], NOW + timedelta(minutes=90)), serial=2)
    assert elements(later) == {"203.0.113.7": 1800}


@pytest.mark.skipif(shutil.which("nft") is None, reason=NO_NFT)
def test_nft_accepts_the_script(tmp_path: Path) -> None:
    path = tmp_path / "khusela-blocklist.nft"
    path.write_text(
        script(
            block("a1", "block_ip", "203.0.113.0/24", reason='evil"; flush ruleset'),
            block("a2", "block_ip", "203.0.113.7", hours=None),
            block("a3", "block_ip", "2001:db8::/48"),
        )
    )
    done = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)  # noqa: S607
    if "Operation not permitted" in done.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN, which this test run does not have")
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("nft") is None, reason=NO_NFT)
def test_nft_refuses_a_tampered_script_so_the_check_above_can_fail(tmp_path: Path) -> None:
    path = tmp_path / "khusela-blocklist.nft"
    path.write_text(script(block("a1", "block_ip", "203.0.113.7")).replace("203.0.113.7 ", "203.0.113.777 "))
    done = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)  # noqa: S607
    if "Operation not permitted" in done.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN, which this test run does not have")
    assert done.returncode != 0


@pytest.mark.skipif(shutil.which("nft") is None or shutil.which("unshare") is None, reason=NO_NFT)
def test_loading_twice_then_reverting_in_a_private_network_namespace(tmp_path: Path) -> None:
    """The real kernel, in a throw-away network namespace (the host's firewall is never touched):
    reloading does not pile up rules, and the empty script of a revert empties the sets."""
    blocked, cleared = tmp_path / "blocked.nft", tmp_path / "cleared.nft"
    blocked.write_text(
        script(
            block("net", "block_ip", "203.0.113.0/24", hours=1),
            block("host", "block_ip", "203.0.113.7", hours=None),
            block("v6", "block_ip", "2001:db8::/48", hours=2),
        )
    )
    cleared.write_text(script())
    shell = (
        f"nft -f {blocked} && nft -f {blocked} && nft list table inet khusela"
        f" && echo ===== && nft -f {cleared} && nft list table inet khusela"
    )
    in_private_namespace = ["unshare", "--net", "sh", "-c", shell]
    done = subprocess.run(in_private_namespace, capture_output=True, text=True, check=False)
    if done.returncode != 0 and ("Operation not permitted" in done.stderr or "unshare failed" in done.stderr):
        pytest.skip("no permission to create a network namespace and load nftables in it")
    assert done.returncode == 0, done.stderr
    loaded, reverted = done.stdout.split("=====")
    assert loaded.count("saddr @blocked_v4 counter") == 2  # input and forward, once each
    assert loaded.count("saddr @blocked_v6 counter") == 2
    assert re.search(r"203\.0\.113\.7 comment", loaded)  # no timeout: kept until revoked
    assert re.search(r"203\.0\.113\.0/30 timeout 1h", loaded)
    assert re.search(r"2001:db8::/48 timeout 2h", loaded)
    assert "elements" not in reverted
    assert reverted.count("counter") == 4
