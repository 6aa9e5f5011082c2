"""A case with three items on a real database, and helpers to tamper with packages."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from khusela.evidence import keys, locker
from khusela.evidence.storage import LocalWriteOnceStore
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction
from khusela.store.database import Database

MEDIA = {
    "clip.mp4": (locker.ItemKind.CLIP, "video/mp4", b"\x00\x00\x00\x18ftypmp42" + os.urandom(20_000)),
    "still.jpg": (locker.ItemKind.SNAPSHOT, "image/jpeg", b"\xff\xd8\xff\xe0" + os.urandom(5_000)),
    "statement.pdf": (locker.ItemKind.DOCUMENT, "application/pdf", b"%PDF-1.7\n" + os.urandom(2_000)),
}


@dataclass
class Locker:
    db: Database
    store: LocalWriteOnceStore
    key: Ed25519PrivateKey
    data_dir: Path
    case: locker.Case
    items: list[locker.Item]


@pytest.fixture
def filled(database: Database, tmp_path: Path) -> Locker:
    data_dir = tmp_path / "data"
    store = LocalWriteOnceStore(data_dir / "evidence")
    with database.write() as conn:
        agency = directory.create_agency(
            conn, SYSTEM, "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(provinces=frozenset({"GP"}))
        )
        case = locker.create_case(conn, "thandi", "CAS 123/11/2026", "Hijacking, Empire Rd", agency.id)
        items = [
            locker.add_item(
                conn,
                store,
                "thandi",
                case.id,
                io.BytesIO(data),
                kind,
                media_type,
                name,
                {"camera_id": "cam-17", "clock_offset_s": -2.5} if kind is locker.ItemKind.CLIP else None,
                datetime(2026, 11, 20, 21, 4, tzinfo=UTC),
            )
            for name, (kind, media_type, data) in MEDIA.items()
        ]
    return Locker(database, store, keys.signing_key(data_dir), data_dir, case, items)


def custody_lines(package: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (package / "custody.jsonl").read_text().splitlines()]


def write_custody(package: Path, lines: list[dict[str, object]]) -> None:
    (package / "custody.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
