"""What the lead's actions table hands over (`ActiveBlock`) and what a publish reports back
(`ResponseFiles`). Plain frozen dataclasses: no I/O, no database, so the renderers stay pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

Kind = Literal["block_ip", "block_domain", "quarantine_message"]
KINDS: frozenset[str] = frozenset(get_args(Kind))


@dataclass(frozen=True)
class ActiveBlock:
    """One approved, not yet reverted response action, as the publisher needs to see it.

    `target` is what the matching `parse_*_target` returned at approval time; the publisher checks
    it again, because these files are loaded by root-owned firewalls and resolvers."""

    action_id: str
    kind: Kind
    target: str
    expires_at: datetime | None
    reason: str
    approved_by: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown response action kind {self.kind!r}")
        if self.expires_at is not None and self.expires_at.utcoffset() is None:
            raise ValueError(f"action {self.action_id}: expires_at must be timezone-aware (UTC)")

    def remaining(self, now: datetime) -> timedelta | None:
        """Time left before the block lapses on its own; None for a block without an end."""
        return None if self.expires_at is None else self.expires_at - now

    def expired(self, now: datetime) -> bool:
        """True once `now` has reached `expires_at`: such a block is left out of every file."""
        left = self.remaining(now)
        return left is not None and left <= timedelta(0)


@dataclass(frozen=True)
class WrittenFile:
    """One published file: where it is, the SHA-256 of its bytes and how many entries it holds
    (nftables set elements, listed networks, blocked domains or quarantine instructions)."""

    path: Path
    sha256: str
    entries: int


@dataclass(frozen=True)
class ResponseFiles:
    """The four files one publish replaced, for the audit record and the API's "published" view."""

    nftables: WrittenFile
    blocklist: WrittenFile
    rpz: WrittenFile
    quarantine: WrittenFile
    published_at: datetime
    serial: int

    def all(self) -> tuple[WrittenFile, ...]:
        return (self.nftables, self.blocklist, self.rpz, self.quarantine)
