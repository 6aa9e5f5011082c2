"""The plain blocklist: one address or network per line, for appliances (commercial firewalls,
proxies, "external dynamic list" feeds) that read a text file over HTTP or a share.

Each entry is preceded by `#` comment lines naming the actions behind it, so that data lines
hold nothing but the address: some readers do not accept a comment after the entry."""

from __future__ import annotations

from khusela.cyber.response.active import Current
from khusela.cyber.response.model import ActiveBlock
from khusela.cyber.response.targets import IPNetwork, address_text
from khusela.cyber.response.text import iso_utc, one_line


def _comment(block: ActiveBlock) -> str:
    until = iso_utc(block.expires_at) if block.expires_at else "revoked"
    reason = one_line(block.reason) or "no reason given"
    return f"# action {block.action_id} until {until} — {reason}"


def render(current: Current, serial: int) -> str:
    """The list, IPv4 first then IPv6, each network once however many actions name it."""
    lines = [
        f"# Khusela cyber response: IP blocklist generated {iso_utc(current.now)}, serial {serial}.",
        "# One address or network per line; lines starting with '#' are comments.",
        "# Expired blocks are left out; the next publish replaces this file.",
    ]
    by_network: dict[IPNetwork, list[ActiveBlock]] = {}
    for network, block in current.ips:
        by_network.setdefault(network, []).append(block)
    for network, blocks in by_network.items():
        lines.extend(_comment(block) for block in blocks)
        lines.append(address_text(network))
    return "\n".join(lines) + "\n"
