"""Write-once storage for agreement documents, evidence of delivery and patrol photos.

The same content-addressed store as evidence (`khusela.evidence.storage`), under its own
root: partner files are not case evidence and follow their own retention, but they share
the promises — addressed by SHA-256, never overwritten, re-hashed on every read.
"""

from __future__ import annotations

from pathlib import Path

from khusela.evidence.storage import LocalWriteOnceStore

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = frozenset({"application/pdf"})
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def partners_store(data_dir: Path) -> LocalWriteOnceStore:
    return LocalWriteOnceStore(data_dir / "partners")
