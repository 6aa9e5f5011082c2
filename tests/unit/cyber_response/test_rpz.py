"""The RPZ zone: it parses, holds exactly the blocked names (and their children) and nothing else."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest

from khusela.cyber.response.active import current
from khusela.cyber.response.rpz import ZoneRejected, check, expected_owners, render

from .conftest import NOW, block


def owners(text: str) -> set[str]:
    zone = dns.zone.from_text(text, origin="rpz.khusela.", relativize=False)
    return {name.to_text() for name in zone.nodes}


def test_each_blocked_domain_and_everything_under_it_answers_nxdomain() -> None:
    state = current(
        [
            block("a1", "block_domain", "Login-SARS.example"),
            block("a2", "block_domain", "ëvil.co.za", hours=None),
            block("a3", "block_domain", "login-sars.example", hours=3),  # same name, second action
            block("a4", "block_domain", "gone.example", hours=-1),
            block("a5", "block_ip", "203.0.113.7"),
        ],
        NOW,
    )
    text = render(state, serial=42)
    zone = dns.zone.from_text(text, origin="rpz.khusela.", relativize=False)
    assert owners(text) == {
        "rpz.khusela.",
        "login-sars.example.rpz.khusela.",
        "*.login-sars.example.rpz.khusela.",
        "xn--vil-ima.co.za.rpz.khusela.",
        "*.xn--vil-ima.co.za.rpz.khusela.",
    }
    assert zone.get_soa().serial == 42
    cname = zone.find_rdataset("*.login-sars.example.rpz.khusela.", dns.rdatatype.CNAME)
    assert [r.to_text() for r in cname] == ["."]
    assert "; action a1 until 2026-03-01T11:00:00Z" in text
    assert "; action a3 until 2026-03-01T13:00:00Z" in text
    check(text, expected_owners(state), 42)


def test_an_empty_zone_is_still_a_valid_zone() -> None:
    text = render(current([], NOW), serial=1)
    assert owners(text) == {"rpz.khusela."}


@pytest.mark.parametrize("serial", [0, -1, 2**32])
def test_serials_outside_the_soa_range_are_refused(serial: int) -> None:
    with pytest.raises(ValueError, match="serial"):
        render(current([], NOW), serial=serial)


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (lambda t: t + "evil.example IN A 192.0.2.1\n", "unexpected names"),
        (lambda t: t + "( broken\n", "does not parse"),
        (lambda t: t.replace("*.blocked.example IN CNAME .", ""), "lacks"),
        (
            lambda t: t.replace("blocked.example IN CNAME .", "blocked.example IN CNAME rpz-passthru."),
            "policy",
        ),
        (lambda t: t.replace(" 5 3600 ", " 4 3600 "), "serial"),
    ],
)
def test_the_check_rejects_a_zone_that_is_not_what_was_meant(
    tamper: Callable[[str], str], words: str
) -> None:
    state = current([block("a1", "block_domain", "blocked.example")], NOW)
    good = render(state, serial=5)
    check(good, expected_owners(state), 5)
    with pytest.raises(ZoneRejected, match=words):
        check(tamper(good), expected_owners(state), 5)


@pytest.mark.skipif(shutil.which("named-checkzone") is None, reason="BIND's named-checkzone is not installed")
def test_bind_loads_the_zone(tmp_path: Path) -> None:
    path = tmp_path / "khusela.rpz.zone"
    state = current(
        [block("a1", "block_domain", "münchen-bank.de", reason="phish; $INCLUDE /etc/shadow\n@ IN NS x.")],
        NOW,
    )
    path.write_text(render(state, serial=9))
    done = subprocess.run(
        ["named-checkzone", "rpz.khusela", str(path)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded serial 9" in done.stdout
