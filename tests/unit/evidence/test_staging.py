"""Staged uploads: bytes written in chunks are filed under their hash, or leave no trace."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from khusela.evidence.storage import LocalWriteOnceStore, TooLarge


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_chunks_are_filed_under_their_hash(tmp_path: Path) -> None:
    store = LocalWriteOnceStore(tmp_path / "evidence")
    chunks = [os.urandom(1000) for _ in range(5)]
    with store.stage(max_bytes=5000) as staged:
        for chunk in chunks:
            staged.write(chunk)
        stored = staged.keep()
    sha = hashlib.sha256(b"".join(chunks)).hexdigest()
    assert (stored.sha256, stored.size, stored.created) == (sha, 5000, True)
    assert files_under(store.root) == [store.path_of(sha)]
    assert store.verify(sha) == 5000


def test_passing_the_limit_discards_what_was_written(tmp_path: Path) -> None:
    store = LocalWriteOnceStore(tmp_path / "evidence")
    with pytest.raises(TooLarge, match="4096 bytes"), store.stage(max_bytes=4096) as staged:
        staged.write(b"x" * 4000)
        staged.write(b"x" * 97)
    assert files_under(store.root) == []


def test_leaving_without_keeping_leaves_nothing(tmp_path: Path) -> None:
    store = LocalWriteOnceStore(tmp_path / "evidence")
    with pytest.raises(ConnectionError), store.stage() as staged:
        staged.write(b"half a clip")
        raise ConnectionError("the client went away")
    assert files_under(store.root) == []
