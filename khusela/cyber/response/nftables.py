"""The nftables script: `nft -f khusela-blocklist.nft` loads every active IP block in one
transaction, so the firewall never sees a half-applied list.

Each element carries a `timeout` equal to the time its block has left, so blocks lapse on their
own even while Khusela is down. Interval sets refuse overlapping elements, so nested networks are
first cut into disjoint pieces, each kept as long as the longest block covering it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from khusela.cyber.response.active import Current
from khusela.cyber.response.model import ActiveBlock
from khusela.cyber.response.targets import IPNetwork, address_text
from khusela.cyber.response.text import iso_utc, restricted

TABLE = "khusela"
SETS = {4: "blocked_v4", 6: "blocked_v6"}
# Kernels before 5.11 cannot hold an element timeout past ~23 days; longer blocks get this cap
# and are renewed by the next publish (which runs far more often than that).
MAX_TIMEOUT = timedelta(days=20)
# `"` and `\` would end or escape a quoted comment; `;`, `{`, `}` and `#` are nft syntax.
_NFT_FORBIDDEN = "\"\\;{}#'`$"


@dataclass(frozen=True)
class Element:
    """One set element: a network, when it lapses (None = never) and the actions behind it."""

    network: IPNetwork
    expires_at: datetime | None
    action_ids: tuple[str, ...]


def _later(a: datetime | None, b: datetime | None) -> bool:
    """True when an end `a` comes after `b` (None meaning "never ends")."""
    if a is None:
        return b is not None
    return b is not None and a > b


def disjoint(ips: Iterable[tuple[IPNetwork, ActiveBlock]]) -> list[Element]:
    """Non-overlapping elements covering every blocked network for as long as it is blocked;
    each element's first action id is the one whose end it keeps.

    CIDR networks either nest or are disjoint. Taking the widest first, each network is either
    new, already covered long enough (merged), or outlives its container, which is then split
    around it (`address_exclude`) so both keep their own end."""
    pieces: dict[tuple[int, int, int], Element] = {}
    for network, block in sorted(ips, key=lambda p: (p[0].version, p[0].prefixlen, p[0])):
        outer = _container(pieces, network)
        if outer is None:
            pieces[_key(network)] = Element(network, block.expires_at, (block.action_id,))
            continue
        if not _later(block.expires_at, outer.expires_at):
            pieces[_key(outer.network)] = Element(
                outer.network, outer.expires_at, (*outer.action_ids, block.action_id)
            )
            continue
        del pieces[_key(outer.network)]
        for part in outer.network.address_exclude(network):  # type: ignore[arg-type]  # same version
            pieces[_key(part)] = Element(part, outer.expires_at, outer.action_ids)
        pieces[_key(network)] = Element(network, block.expires_at, (block.action_id, *outer.action_ids))
    return sorted(pieces.values(), key=lambda e: (e.network.version, e.network))


def _key(network: IPNetwork) -> tuple[int, int, int]:
    return (network.version, int(network.network_address), network.prefixlen)


def _container(pieces: dict[tuple[int, int, int], Element], network: IPNetwork) -> Element | None:
    """The piece holding `network`, found by looking up each of its supernets by integer key
    (at most 129 dictionary look-ups, so tens of thousands of blocks stay fast)."""
    start, bits = int(network.network_address), network.max_prefixlen
    for prefix in range(network.prefixlen, -1, -1):
        host_bits = bits - prefix
        found = pieces.get((network.version, start >> host_bits << host_bits, prefix))
        if found is not None:
            return found
    return None


def timeout_seconds(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole seconds until `expires_at` (rounded up, at least 1, at most `MAX_TIMEOUT`)."""
    if expires_at is None:
        return None
    left = min((expires_at - now).total_seconds(), MAX_TIMEOUT.total_seconds())
    return max(1, math.ceil(left))


def _comment(block: ActiveBlock) -> str:
    until = iso_utc(block.expires_at) if block.expires_at else "revoked"
    reason = restricted(block.reason, _NFT_FORBIDDEN, ascii_only=True) or "no reason given"
    return f"# action {block.action_id} until {until} - {reason}"


def render(current: Current, serial: int, pieces: list[Element] | None = None) -> str:
    """The whole script: table, sets and chains created if absent, the chains' rules and both
    sets' elements replaced. Loading it twice leaves the same ruleset as loading it once."""
    t = TABLE
    lines = [
        "#!/usr/sbin/nft -f",
        f"# Khusela cyber response: IP blocklist generated {iso_utc(current.now)}, serial {serial}.",
        "# Written by khusela.cyber.response; do not edit, the next publish replaces this file.",
        "# Load with `nft -f`: it creates table inet khusela if absent and replaces its sets.",
        f"table inet {t} {{",
        f"\tset {SETS[4]} {{",
        "\t\ttype ipv4_addr",
        "\t\tflags interval,timeout",
        "\t}",
        f"\tset {SETS[6]} {{",
        "\t\ttype ipv6_addr",
        "\t\tflags interval,timeout",
        "\t}",
        "\tchain input {",
        "\t\ttype filter hook input priority filter - 10; policy accept;",
        "\t}",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter - 10; policy accept;",
        "\t}",
        "}",
    ]
    for chain in ("input", "forward"):
        lines.append(f"flush chain inet {t} {chain}")
        lines.append(f"add rule inet {t} {chain} ip saddr @{SETS[4]} counter drop")
        lines.append(f"add rule inet {t} {chain} ip6 saddr @{SETS[6]} counter drop")
    lines += [f"flush set inet {t} {SETS[4]}", f"flush set inet {t} {SETS[6]}"]
    blocks = {block.action_id: block for _, block in current.ips}
    explained: set[str] = set()
    for element in disjoint(current.ips) if pieces is None else pieces:
        for action_id in element.action_ids:
            if action_id not in explained:  # a block split around a longer one is explained once
                lines.append(_comment(blocks[action_id]))
                explained.add(action_id)
        timeout = timeout_seconds(element.expires_at, current.now)
        extra = f" timeout {timeout}s" if timeout is not None else ""
        ids = element.action_ids
        label = f"action {ids[0]}" + (f" +{len(ids) - 1} more" if len(ids) > 1 else "")
        lines.append(
            f"add element inet {t} {SETS[element.network.version]} "
            f'{{ {address_text(element.network)}{extra} comment "{label}" }}'
        )
    return "\n".join(lines) + "\n"
