"""Real attack data, read in place from ../shared/data/cyber: the SSH brute-force sources in the
loghub OpenSSH sample become firewall elements, and the Message-IDs and sender domains of real
phishing (phishing_pot) and legitimate mail (SpamAssassin) are accepted as targets."""

from __future__ import annotations

import email
import email.policy
import re
from email.utils import parseaddr
from pathlib import Path

import dns.zone

from khusela.cyber.response import (
    InvalidTarget,
    parse_domain_target,
    parse_ip_target,
    parse_message_target,
    publish,
)
from tests.services import shared_data

from .conftest import NOW, block
from .test_nftables import elements

SSH_SOURCE = re.compile(r"(?:from|rhost=) ?(\d{1,3}(?:\.\d{1,3}){3})\b")


def test_ssh_brute_force_sources_become_firewall_elements(tmp_path: Path) -> None:
    log = Path(shared_data("cyber", "syslog", "OpenSSH", "OpenSSH_2k.log")).read_text()
    sources = sorted(set(SSH_SOURCE.findall(log)))
    assert "183.62.140.253" in sources  # the 580-attempt attacker in this sample
    blocks = [
        block(f"ssh{i}", "block_ip", str(parse_ip_target(ip)), hours=24) for i, ip in enumerate(sources)
    ]
    files = publish(tmp_path, blocks, now=NOW, serial=1)
    assert files.nftables.entries == len(sources)
    assert set(elements(files.nftables.path.read_text())) == set(sources)
    assert all(timeout == 24 * 3600 for timeout in elements(files.nftables.path.read_text()).values())


def test_every_message_id_in_real_mail_can_be_quarantined_and_sender_domains_blocked(tmp_path: Path) -> None:
    folder = Path(shared_data("cyber", "phishing"))
    ids, domains, refused = set(), set(), []
    for path in sorted(folder.glob("*/*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        if raw_id := message.get("Message-ID"):
            ids.add(parse_message_target(str(raw_id)))
        sender = parseaddr(str(message.get("From", "")))[1]
        if "@" in sender:
            try:
                domains.add(parse_domain_target(sender.rsplit("@", 1)[1]))
            except InvalidTarget as exc:
                refused.append(exc.detail)
    assert len(ids) >= 290
    assert len(domains) >= 180
    # single-label fakes like `phishing@pot` or `x@correios` cannot be DNS-blocked, and are refused
    assert refused
    assert all("top-level" in r or "not a valid host name" in r for r in refused)
    blocks = [block(f"m{i}", "quarantine_message", m) for i, m in enumerate(sorted(ids))]
    blocks += [block(f"d{i}", "block_domain", d) for i, d in enumerate(sorted(domains))]
    files = publish(tmp_path, blocks, now=NOW, serial=3)
    assert files.quarantine.entries == len(ids)
    assert len(files.quarantine.path.read_text().splitlines()) == len(ids)
    zone = dns.zone.from_text(files.rpz.path.read_text(), origin="rpz.khusela.", relativize=False)
    assert len(zone.nodes) == 1 + 2 * len(domains)
