"""From the actions table's view of "active" to what goes into the files: expired blocks dropped,
every target checked again and put in its canonical form.

The check is repeated here, not trusted from approval time, because the output is loaded by
root-owned firewalls and resolvers: a row edited by hand must not become a zone-file injection."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from khusela.core.errors import KhuselaError
from khusela.cyber.response.model import ActiveBlock
from khusela.cyber.response.targets import (
    InvalidTarget,
    IPNetwork,
    parse_domain_target,
    parse_ip_target,
    parse_message_target,
)

_ACTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(frozen=True)
class Current:
    """The blocks in force at `now`, grouped by what consumes them, in a stable order."""

    now: datetime
    ips: tuple[tuple[IPNetwork, ActiveBlock], ...]
    domains: tuple[tuple[str, ActiveBlock], ...]
    messages: tuple[tuple[str, ActiveBlock], ...]


def current(active: Iterable[ActiveBlock], now: datetime) -> Current:
    """Keep the blocks that have not expired at `now`, with their checked targets.

    Raises `InvalidTarget` naming the action when a stored target no longer passes its check:
    publishing stops rather than quietly dropping (or writing) a block nobody can see."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (UTC)")
    ips: list[tuple[IPNetwork, ActiveBlock]] = []
    domains: list[tuple[str, ActiveBlock]] = []
    messages: list[tuple[str, ActiveBlock]] = []
    for block in active:
        if block.expired(now):
            continue
        if not _ACTION_ID.fullmatch(block.action_id):
            raise InvalidTarget(f"action id {block.action_id[:70]!r} is not a plain identifier")
        try:
            if block.kind == "block_ip":
                ips.append((parse_ip_target(block.target), block))
            elif block.kind == "block_domain":
                domains.append((parse_domain_target(block.target), block))
            else:
                messages.append((parse_message_target(block.target), block))
        except KhuselaError as exc:
            raise InvalidTarget(f"action {block.action_id}: {exc.detail}") from None
    return Current(
        now=now,
        ips=tuple(sorted(ips, key=lambda p: (p[0].version, p[0], p[1].action_id))),
        domains=tuple(sorted(domains, key=lambda p: (p[0], p[1].action_id))),
        messages=tuple(sorted(messages, key=lambda p: (p[0], p[1].action_id))),
    )
