"""Write-once, content-addressed storage: no-op repeats, refused overwrites, verified reads."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from khusela.core.errors import Conflict, InvalidInput, NotFound
from khusela.evidence.storage import LocalWriteOnceStore, MediaTampered

CLIP = b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000)


@pytest.fixture
def store(tmp_path: Path) -> LocalWriteOnceStore:
    return LocalWriteOnceStore(tmp_path / "evidence")


def tamper(path: Path, offset: int = 100) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_stores_by_sha256_read_only(store: LocalWriteOnceStore) -> None:
    stored = store.put(io.BytesIO(CLIP))
    assert stored.sha256 == hashlib.sha256(CLIP).hexdigest()
    assert (stored.size, stored.created) == (len(CLIP), True)
    path = store.path_of(stored.sha256)
    assert path.read_bytes() == CLIP
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert b"".join(store.chunks(stored.sha256)) == CLIP
    assert list((store.root / "tmp").iterdir()) == []


def test_storing_the_same_bytes_again_is_a_no_op(store: LocalWriteOnceStore) -> None:
    first = store.put(io.BytesIO(CLIP))
    again = store.put(io.BytesIO(CLIP))
    assert again.sha256 == first.sha256
    assert again.created is False
    assert store.verify(first.sha256) == len(CLIP)


def test_different_bytes_at_an_existing_address_are_refused(store: LocalWriteOnceStore) -> None:
    sha = store.put(io.BytesIO(CLIP)).sha256
    tamper(store.path_of(sha))
    altered = store.path_of(sha).read_bytes()
    with pytest.raises(Conflict, match="refusing to overwrite"):
        store.put(io.BytesIO(CLIP))
    assert store.path_of(sha).read_bytes() == altered  # reported, not silently "repaired"


def test_bytes_that_do_not_hash_to_the_expected_address_are_refused(store: LocalWriteOnceStore) -> None:
    with pytest.raises(InvalidInput, match="not to the expected"):
        store.put(io.BytesIO(CLIP), expected_sha256="0" * 64)
    assert not store.exists(hashlib.sha256(CLIP).hexdigest())


def test_a_tampered_file_is_reported_on_read(store: LocalWriteOnceStore) -> None:
    sha = store.put(io.BytesIO(CLIP)).sha256
    tamper(store.path_of(sha))
    with pytest.raises(MediaTampered, match="does not match its SHA-256"):
        store.verify(sha)
    with pytest.raises(MediaTampered):
        store.chunks(sha)  # raises before yielding any byte


def test_missing_objects_and_non_addresses(store: LocalWriteOnceStore) -> None:
    with pytest.raises(NotFound):
        store.verify("a" * 64)
    with pytest.raises(InvalidInput):
        store.path_of("../../etc/passwd")
