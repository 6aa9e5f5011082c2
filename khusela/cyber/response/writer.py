"""Publishing the response files: render all four, check them, then swap them into place.

Consumers (an nft path unit, a resolver reloading its zone, a gateway polling its list) may read
at any moment, so each file is replaced with `os.replace` from a fsynced temporary file in the
same directory: a reader sees the old file or the new one, never a torn one. Everything that can
fail (rendering, the zone check, writing the temporaries) happens before the first replace, so a
failed publish leaves every previous file as it was."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from khusela.core.errors import KhuselaError
from khusela.cyber.response import blocklist, nftables, quarantine, rpz
from khusela.cyber.response.active import current
from khusela.cyber.response.model import ActiveBlock, ResponseFiles, WrittenFile

NFTABLES_FILE = "khusela-blocklist.nft"
BLOCKLIST_FILE = "khusela-blocklist.txt"
RPZ_FILE = "khusela.rpz.zone"
QUARANTINE_FILE = "khusela-quarantine.jsonl"
FILE_MODE = 0o644  # firewalls, resolvers and the gateway run as their own users and must read these


class PublishFailed(KhuselaError):
    """The response files could not be written; the previously published ones are untouched."""

    status = 500
    title = "Response files not published"


@dataclass(frozen=True)
class Rendered:
    """The four texts of one publish, with entry counts and what the zone must contain."""

    nftables: str
    blocklist: str
    rpz: str
    quarantine: str
    counts: tuple[int, int, int, int]
    zone_owners: frozenset[str]
    serial: int
    now: datetime


def render_all(active: Iterable[ActiveBlock], *, now: datetime, serial: int) -> Rendered:
    """Every file's text for the blocks in force at `now` (pure: no file is touched)."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (UTC)")
    state = current(active, now.astimezone(UTC))
    pieces = nftables.disjoint(state.ips)
    return Rendered(
        nftables=nftables.render(state, serial, pieces),
        blocklist=blocklist.render(state, serial),
        rpz=rpz.render(state, serial),
        quarantine=quarantine.render(state),
        counts=(
            len(pieces),
            len({network for network, _ in state.ips}),
            len({name for name, _ in state.domains}),
            len(state.messages),
        ),
        zone_owners=frozenset(rpz.expected_owners(state)),
        serial=serial,
        now=state.now,
    )


def publish(directory: Path, active: Iterable[ActiveBlock], *, now: datetime, serial: int) -> ResponseFiles:
    """Write the nftables script, plain blocklist, RPZ zone and quarantine list for the blocks
    active at `now` into `directory`. Every file is written even when empty, so reverting the
    last action clears its block. Raises `InvalidTarget`, `ZoneRejected` or `PublishFailed`,
    and then every previously published file is left exactly as it was."""
    return write_all(directory, render_all(active, now=now, serial=serial))


def write_all(directory: Path, rendered: Rendered) -> ResponseFiles:
    """Check `rendered` (the zone parsed back) and swap all four files into `directory`."""
    rpz.check(rendered.rpz, set(rendered.zone_owners), rendered.serial)
    texts = {
        NFTABLES_FILE: rendered.nftables,
        BLOCKLIST_FILE: rendered.blocklist,
        RPZ_FILE: rendered.rpz,
        QUARANTINE_FILE: rendered.quarantine,
    }
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name in texts:
            target = directory / name
            if target.exists() and not target.is_file():
                raise PublishFailed(f"{target} exists and is not a regular file")
    except OSError as exc:
        raise PublishFailed(f"cannot prepare {directory}: {exc.strerror or exc}") from None
    staged: dict[str, Path] = {}
    try:
        for name, text in texts.items():
            staged[name] = _stage(directory, name, text.encode("utf-8"))
        for name, temporary in staged.items():
            os.replace(temporary, directory / name)
        _fsync_directory(directory)
    except OSError as exc:
        raise PublishFailed(f"cannot write response files in {directory}: {exc.strerror or exc}") from None
    finally:
        for temporary in staged.values():
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    nft, txt, zone, held = (
        WrittenFile(directory / name, hashlib.sha256(text.encode("utf-8")).hexdigest(), count)
        for (name, text), count in zip(texts.items(), rendered.counts, strict=True)
    )
    return ResponseFiles(nft, txt, zone, held, published_at=rendered.now, serial=rendered.serial)


def _stage(directory: Path, name: str, data: bytes) -> Path:
    """`data` in a fsynced, readable temporary file beside `name`; its path."""
    fd, path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), FILE_MODE)
            os.fsync(out.fileno())
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path)


def _fsync_directory(directory: Path) -> None:
    """Make the renames themselves durable, so a power cut cannot bring back the old files."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
