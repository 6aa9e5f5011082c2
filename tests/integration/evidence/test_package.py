"""Export packages and their verification: every kind of tampering is named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from khusela.evidence import custody, keys, locker
from khusela.evidence.package import export_case, verify_package
from tests.integration.evidence.conftest import Locker, custody_lines, write_custody


@pytest.fixture
def package(filled: Locker, tmp_path: Path) -> Path:
    return export_case(filled.db, filled.store, filled.key, "CAS 123/11/2026", tmp_path / "out", "sipho").path


def check(filled: Locker, package: Path) -> str:
    result = verify_package(package, filled.key.public_key())
    assert not result.ok
    return result.summary()


def test_export_writes_a_package_that_verifies(filled: Locker, package: Path) -> None:
    result = verify_package(package, filled.key.public_key())
    assert result.ok, result.summary()
    assert result.summary().startswith("OK: 3 items and 5 custody entries")
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["case"]["case_number"] == "CAS 123/11/2026"
    assert manifest["instance"]["id"] == keys.key_id(filled.key.public_key())
    assert manifest["custody"]["head_hash"] == custody_lines(package)[-1]["hash"]
    assert sorted(p.name for p in (package / "media").iterdir()) == sorted(
        f"{i.sha256}{ext}" for i, ext in zip(filled.items, (".mp4", ".jpg", ".pdf"), strict=True)
    )
    assert {"manifest.json", "custody.jsonl", "signature.json", "public-key.pem"} <= {
        p.name for p in package.iterdir()
    }


def test_the_export_itself_is_in_custody_before_the_package(filled: Locker, package: Path) -> None:
    last = custody_lines(package)[-1]
    assert (last["action"], last["actor"]) == ("exported", "sipho")
    with filled.db.snapshot() as conn:
        log = custody.entries(conn, filled.case.id)
        assert custody.verify_case(conn, filled.case.id).ok
    assert log[-1].action == "exported"


def test_one_changed_byte_of_media_names_the_item(filled: Locker, package: Path) -> None:
    clip = filled.items[0]
    path = package / "media" / f"{clip.sha256}.mp4"
    data = bytearray(path.read_bytes())
    data[500] ^= 0x01
    path.write_bytes(bytes(data))
    message = check(filled, package)
    assert f"media file of item {clip.id}" in message
    assert "signature" not in message


def test_missing_and_extra_media_files(filled: Locker, package: Path) -> None:
    still = filled.items[1]
    (package / "media" / f"{still.sha256}.jpg").unlink()
    (package / "media" / "planted.jpg").write_bytes(b"not evidence")
    message = check(filled, package)
    assert f"media file for item {still.id}" in message
    assert "missing" in message
    assert "unexpected file media/planted.jpg" in message


def test_an_edited_manifest_fails_the_signature(filled: Locker, package: Path) -> None:
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["case"]["title"] = "Nothing happened"
    (package / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    assert "signature does not verify: manifest.json changed after signing" in check(filled, package)


def test_an_edited_custody_line_is_named(filled: Locker, package: Path) -> None:
    lines = custody_lines(package)
    lines[2]["actor"] = "mallory"
    write_custody(package, lines)
    message = check(filled, package)
    assert "custody entry 3: entry content does not match its hash" in message
    assert "custody.jsonl changed after signing" in message


def test_a_deleted_custody_line_is_named(filled: Locker, package: Path) -> None:
    lines = custody_lines(package)
    write_custody(package, lines[:1] + lines[2:])
    assert "custody entry 2: entry is missing" in check(filled, package)


def test_reordered_custody_lines_are_named(filled: Locker, package: Path) -> None:
    lines = custody_lines(package)
    write_custody(package, [lines[0], lines[2], lines[1], *lines[3:]])
    assert "custody entry 2" in check(filled, package)


def test_a_consistently_rewritten_chain_still_fails_the_signature(filled: Locker, package: Path) -> None:
    """An attacker who recomputes every hash cannot recompute the signature."""
    lines = custody_lines(package)
    lines.pop()  # hide the export, then re-chain everything
    entries = [custody.CustodyEntry.from_json(line) for line in lines]
    write_custody(package, [e.as_json() for e in entries])
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["custody"] = {"entries": len(entries), "head_hash": entries[-1].hash}
    (package / "manifest.json").write_text(json.dumps(manifest))
    message = check(filled, package)
    assert "custody entry" not in message
    assert "manifest.json and custody.jsonl changed after signing" in message


def test_another_instances_package_needs_its_public_key(filled: Locker, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    package = export_case(filled.db, filled.store, other, filled.case.id, tmp_path / "other", "sipho").path
    message = check(filled, package)
    assert f"signed by key {keys.key_id(other.public_key())}, not by the trusted key" in message
    assert verify_package(package, other.public_key()).ok


def test_a_swapped_signing_key_fails(filled: Locker, package: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    (package / "public-key.pem").write_text(keys.public_pem(forger.public_key()))
    assert "public-key.pem is not the key named" in check(filled, package)


def test_the_signing_key_file_is_private_and_stable(filled: Locker) -> None:
    path = keys.key_path(filled.data_dir)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    again = keys.signing_key(filled.data_dir)
    assert keys.key_id(again.public_key()) == keys.key_id(filled.key.public_key())


def test_export_refuses_a_tampered_store(filled: Locker, tmp_path: Path) -> None:
    path = filled.store.path_of(filled.items[2].sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b"%PDF-forged")
    with pytest.raises(Exception, match="does not match its SHA-256"):
        export_case(filled.db, filled.store, filled.key, filled.case.id, tmp_path / "x", "sipho")
    with filled.db.read() as conn:
        assert locker.get_case(conn, filled.case.id).custody_seq == 5  # the attempt is in custody
