"""Write-once media storage, addressed by SHA-256.

The port (`MediaStore`) is what the locker needs; `LocalWriteOnceStore` keeps files under
`<data_dir>/evidence/`, and an S3 Object-Lock (compliance mode) adapter can replace it
without touching the locker. The promises, whichever adapter:

- an object's address is the SHA-256 of its bytes, so the database row and the package
  manifest name the bytes themselves, not a mutable path;
- storing the same bytes again is a no-op; nothing is ever overwritten or deleted;
- every read re-hashes, so an altered file is reported, never served as evidence.

Large uploads are *staged*: written chunk by chunk to a temporary file beside the store
(same filesystem, so filing it is one atomic link), hashed on the way, and refused the
moment they pass their limit. Nothing the size of an upload is ever held in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, Self

from khusela.core.errors import Conflict, InvalidInput, KhuselaError, NotFound

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(KhuselaError):
    """An upload passed its size limit; what was received so far has been thrown away."""

    status = 413
    title = "Request too large"


class MediaTampered(KhuselaError):
    """A stored object no longer hashes to its address: it was altered outside Khusela."""

    status = 409
    title = "Evidence integrity failure"


@dataclass(frozen=True, slots=True)
class StoredMedia:
    sha256: str
    size: int
    created: bool
    """False when the same bytes were already stored (a no-op)."""


class Staging(Protocol):
    """An object being received: written and hashed chunk by chunk, then kept or discarded.

    Use it as a context manager: leaving the block without `keep()` (an error, a client
    that went away) discards what was written, so no partial object is ever left behind.
    """

    size: int

    @property
    def sha256(self) -> str:
        """The SHA-256 of the bytes written so far."""
        ...

    def write(self, chunk: bytes) -> None:
        """Append `chunk`; raise `TooLarge` (and keep nothing) once the limit is passed."""
        ...

    def keep(self) -> StoredMedia:
        """Make the bytes durable and file them under their SHA-256 (write-once)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class MediaStore(Protocol):
    """Content-addressed, write-once storage for evidence media."""

    def put(self, source: BinaryIO, expected_sha256: str | None = None) -> StoredMedia:
        """Store the bytes read from `source`; refuse if they do not hash to `expected_sha256`."""
        ...

    def stage(self, max_bytes: int | None = None) -> Staging:
        """Start receiving an object of at most `max_bytes`, for a caller that gets it in chunks."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether an object is stored at this address (without verifying it)."""
        ...

    def verify(self, sha256: str) -> int:
        """Re-hash the stored object; return its size or raise `MediaTampered` / `NotFound`."""
        ...

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """Verify now (raising before any byte is sent), then yield the bytes in chunks."""
        ...


def check_address(sha256: str) -> str:
    """Refuse anything but 64 lower-case hex digits, so an address can never be a path."""
    if not _SHA256.match(sha256):
        raise InvalidInput("a SHA-256 address is 64 lower-case hexadecimal digits")
    return sha256


def hash_stream(source: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of everything read from `source`."""
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class LocalWriteOnceStore:
    """Files at `<root>/<aa>/<bb>/<sha256>`, made read-only (0444) once written.

    A new object is written to a temporary file in `<root>/tmp`, fsynced, then *linked*
    into place: unlike `rename`, `link` fails when the target exists, so two writers of the
    same address can never replace each other's file, and a tampered file is never silently
    "repaired" by a new upload (it is reported instead).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        check_address(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, source: BinaryIO, expected_sha256: str | None = None) -> StoredMedia:
        with self.stage() as staged:
            while chunk := source.read(CHUNK):
                staged.write(chunk)
            if expected_sha256 is not None and expected_sha256 != staged.sha256:
                raise InvalidInput(
                    f"the bytes hash to {staged.sha256}, not to the expected {expected_sha256}"
                )
            return staged.keep()

    def stage(self, max_bytes: int | None = None) -> LocalStaging:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return LocalStaging(self, tmp_dir, max_bytes)

    def link(self, tmp: Path, sha: str, size: int) -> StoredMedia:
        """File the finished, fsynced temporary file `tmp` under `sha` (which its bytes hash to)."""
        final = self.path_of(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tmp, final)
        except FileExistsError:
            try:
                self.verify(sha)
            except MediaTampered:
                raise Conflict(
                    f"evidence object {sha} exists with different bytes; refusing to overwrite it"
                ) from None
            return StoredMedia(sha, size, created=False)
        _fsync_dir(final.parent)
        return StoredMedia(sha, size, created=True)

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def verify(self, sha256: str) -> int:
        path = self.path_of(sha256)
        try:
            with path.open("rb") as stored:
                actual, size = hash_stream(stored)
        except FileNotFoundError:
            raise NotFound(f"evidence object {sha256} is missing from the store") from None
        if actual != sha256:
            raise MediaTampered(f"evidence object {sha256} does not match its SHA-256: the file was altered")
        return size

    def chunks(self, sha256: str) -> Iterator[bytes]:
        self.verify(sha256)
        return _read(self.path_of(sha256))


class LocalStaging:
    """A temporary file in `<root>/tmp`, hashed as it is written; see `Staging`."""

    def __init__(self, store: LocalWriteOnceStore, tmp_dir: Path, max_bytes: int | None) -> None:
        self.store, self.max_bytes = store, max_bytes
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="incoming-")
        self.path = Path(name)
        self._out = os.fdopen(fd, "wb")
        self._digest = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        """The SHA-256 of the bytes written so far."""
        return self._digest.hexdigest()

    def write(self, chunk: bytes) -> None:
        if self.max_bytes is not None and self.size + len(chunk) > self.max_bytes:
            self.discard()
            raise TooLarge(f"uploads are limited to {self.max_bytes} bytes")
        self._digest.update(chunk)
        self._out.write(chunk)
        self.size += len(chunk)

    def keep(self) -> StoredMedia:
        """fsync, make read-only, link into place; the temporary name is removed either way."""
        try:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            os.chmod(self.path, 0o444)
            return self.store.link(self.path, self.sha256, self.size)
        finally:
            self.discard()

    def discard(self) -> None:
        """Close and remove the temporary file (a no-op once done)."""
        self._out.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stored:
        while chunk := stored.read(CHUNK):
            yield chunk


def _fsync_dir(path: Path) -> None:
    """Make the new directory entry durable, not only the file's bytes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def local_store(data_dir: Path) -> LocalWriteOnceStore:
    """The store the platform uses: `<data_dir>/evidence/`."""
    return LocalWriteOnceStore(data_dir / "evidence")
