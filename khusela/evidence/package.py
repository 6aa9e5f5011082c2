"""Signed export packages that stand on their own in court, and their verification.

A package is a *directory* (not a zip): every file can be opened, hashed and compared with
ordinary tools, and a zip of the directory made for transport verifies the same once
unpacked. It holds

    media/<sha256><ext>   each item's bytes, named by their SHA-256
    manifest.json         the case, items (sha256, size, metadata), export time, the
                          exporting instance and the custody log's head hash
    custody.jsonl         the case's whole chain of custody, one entry per line
    signature.json        Ed25519 over SHA-256(manifest.json) and SHA-256(custody.jsonl)
    public-key.pem        the signing public key (its key id is in signature.json)

The export is written into custody ("exported") *before* the package is built, so the
package carries the record of its own making.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from khusela.audit import log as audit
from khusela.audit.chain import canonical
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import Conflict, InvalidInput
from khusela.core.ids import new_id
from khusela.evidence import custody, keys, locker
from khusela.evidence.custody import CustodyAction, CustodyEntry
from khusela.evidence.storage import MediaStore, hash_stream
from khusela.store.database import Database

FORMAT = "khusela-evidence-package/1"
MANIFEST, CUSTODY, SIGNATURE, PUBLIC_KEY, MEDIA = (
    "manifest.json",
    "custody.jsonl",
    "signature.json",
    "public-key.pem",
    "media",
)
_EXT = re.compile(r"^\.[a-z0-9]{1,8}$")


def signed_message(manifest_sha256: str, custody_sha256: str) -> bytes:
    """What the signature covers: both digests, labelled and domain-separated by the format."""
    return f"{FORMAT}\n{MANIFEST} sha256={manifest_sha256}\n{CUSTODY} sha256={custody_sha256}\n".encode()


def media_name(item: locker.Item) -> str:
    """`<sha256><ext>`, the extension from the original name or the media type."""
    suffix = Path(item.original_name).suffix.lower()
    if not _EXT.match(suffix):
        suffix = mimetypes.guess_extension(item.media_type) or ".bin"
    return f"{item.sha256}{suffix}"


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    export_id: str
    items: int
    custody_entries: int
    head_hash: str


def export_case(
    db: Database,
    store: MediaStore,
    signing_key: Ed25519PrivateKey,
    case_ref: str,
    out_dir: Path,
    actor: str,
    clock: Clock | None = None,
) -> Exported:
    """Record the export in custody, then write the signed package under `out_dir`."""
    export_id = new_id()
    with db.write() as conn:
        case = locker.find_case(conn, case_ref)
        details = {"export_id": export_id}
        custody.append(conn, case.id, actor, CustodyAction.EXPORTED, details=details, clock=clock)
        audit.record(conn, actor, "evidence.exported", "evidence_case", case.id, details)
    with db.snapshot() as conn:
        case = locker.get_case(conn, case.id)
        items = locker.items_of(conn, case.id)
        log = custody.entries(conn, case.id)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", case.case_number).strip("-")
    target = out_dir / f"{slug}_{export_id}"
    try:
        (target / MEDIA).mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise Conflict(f"{target} exists already") from None
    for item in items:
        with (target / MEDIA / media_name(item)).open("xb") as out:
            for chunk in store.chunks(item.sha256):
                out.write(chunk)
    public = signing_key.public_key()
    manifest = _manifest(case, items, log, export_id, actor, public, clock)
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    custody_bytes = "".join(canonical(e.as_json()) + "\n" for e in log).encode()
    (target / MANIFEST).write_bytes(manifest_bytes)
    (target / CUSTODY).write_bytes(custody_bytes)
    manifest_sha, custody_sha = _sha(manifest_bytes), _sha(custody_bytes)
    signature = {
        "algorithm": "Ed25519",
        "key_id": keys.key_id(public),
        "signed": {MANIFEST: manifest_sha, CUSTODY: custody_sha},
        "signature": base64.b64encode(signing_key.sign(signed_message(manifest_sha, custody_sha))).decode(),
    }
    (target / SIGNATURE).write_text(json.dumps(signature, indent=2, sort_keys=True) + "\n")
    (target / PUBLIC_KEY).write_text(keys.public_pem(public))
    head = log[-1].hash if log else case.custody_head
    return Exported(target, export_id, len(items), len(log), head)


def _manifest(
    case: locker.Case,
    items: list[locker.Item],
    log: list[CustodyEntry],
    export_id: str,
    actor: str,
    public: Ed25519PublicKey,
    clock: Clock | None,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "export_id": export_id,
        "exported_at": (clock or SystemClock()).now().isoformat(timespec="microseconds"),
        "exported_by": actor,
        "instance": {"id": keys.key_id(public), "host": socket.gethostname()},
        "case": {
            "id": case.id,
            "case_number": case.case_number,
            "title": case.title,
            "agency_id": case.agency_id,
            "created_by": case.created_by,
            "created_at": case.created_at.isoformat(timespec="microseconds"),
            "legal_hold": case.legal_hold,
        },
        "items": [
            {
                "id": item.id,
                "kind": item.kind,
                "file": f"{MEDIA}/{media_name(item)}",
                "sha256": item.sha256,
                "size": item.size,
                "media_type": item.media_type,
                "original_name": item.original_name,
                "source": item.source,
                "captured_at": _iso(item.captured_at),
                "added_by": item.added_by,
                "added_at": item.added_at.isoformat(timespec="microseconds"),
            }
            for item in items
        ],
        "custody": {
            "entries": len(log),
            "head_hash": log[-1].hash if log else case.custody_head,
        },
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(slots=True)
class PackageCheck:
    """What `verify_package` found: `ok`, or the problems, most specific first."""

    items: int = 0
    custody_entries: int = 0
    key_id: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.items} items and {self.custody_entries} custody entries verified, "
                f"signed by key {self.key_id}"
            )
        return "; ".join(self.problems)


def verify_package(package: Path, trusted: Ed25519PublicKey) -> PackageCheck:
    """Check a package against `trusted`: every media file, the custody chain, the signature.

    All problems are collected (not just the first) so that one run tells the court
    everything that differs; each names what changed: the item, the custody entry, or the
    signed file.
    """
    check = PackageCheck(key_id=keys.key_id(trusted))
    files = {}
    for name in (MANIFEST, CUSTODY, SIGNATURE):
        try:
            files[name] = (package / name).read_bytes()
        except FileNotFoundError:
            check.problems.append(f"{name} is missing")
    if check.problems:
        return check
    try:
        manifest = json.loads(files[MANIFEST])
        signature = json.loads(files[SIGNATURE])
    except (json.JSONDecodeError, UnicodeDecodeError):
        check.problems.append("manifest.json or signature.json is not valid JSON")
        return check
    _check_media(package, manifest, check)
    _check_custody(files[CUSTODY], manifest, check)
    _check_signature(package, files, signature, trusted, check)
    return check


def _check_media(package: Path, manifest: dict[str, Any], check: PackageCheck) -> None:
    listed: set[str] = set()
    items = manifest.get("items")
    if not isinstance(items, list):
        check.problems.append("manifest.json lists no items")
        return
    check.items = len(items)
    for item in items:
        name = str(item.get("file", ""))
        listed.add(name)
        path = package / name
        if not name.startswith(f"{MEDIA}/") or "/" in name[len(MEDIA) + 1 :] or not path.is_file():
            check.problems.append(f"media file for item {item.get('id')} ({name}) is missing")
            continue
        with path.open("rb") as media:
            sha, size = hash_stream(media)
        if sha != item.get("sha256") or size != item.get("size"):
            check.problems.append(f"media file of item {item.get('id')} ({name}) does not match its SHA-256")
    media_dir = package / MEDIA
    present = {f"{MEDIA}/{p.name}" for p in media_dir.iterdir()} if media_dir.is_dir() else set()
    check.problems.extend(
        f"unexpected file {extra} is not in the manifest" for extra in sorted(present - listed)
    )


def _check_custody(data: bytes, manifest: dict[str, Any], check: PackageCheck) -> None:
    log: list[CustodyEntry] = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        try:
            log.append(CustodyEntry.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            check.problems.append(f"custody.jsonl line {number} is not a custody entry")
            return
    check.custody_entries = len(log)
    head = manifest.get("custody") or {}
    case_id = str((manifest.get("case") or {}).get("id", ""))
    result = custody.check_chain(case_id, log, int(head.get("entries", -1)), str(head.get("head_hash", "")))
    if not result.ok:
        check.problems.append(f"custody chain broken at {result.describe()}")


def _check_signature(
    package: Path,
    files: dict[str, bytes],
    signature: dict[str, Any],
    trusted: Ed25519PublicKey,
    check: PackageCheck,
) -> None:
    trusted_id = keys.key_id(trusted)
    signer = str(signature.get("key_id", ""))
    if signer != trusted_id:
        check.problems.append(
            f"signed by key {signer}, not by the trusted key {trusted_id} (give --public-key for "
            "another instance's package)"
        )
        return
    try:
        embedded = keys.load_public_pem((package / PUBLIC_KEY).read_bytes())
        if keys.key_id(embedded) != trusted_id:
            check.problems.append("public-key.pem is not the key named in signature.json")
    except (FileNotFoundError, InvalidInput):
        check.problems.append("public-key.pem is missing or unreadable")
    manifest_sha, custody_sha = _sha(files[MANIFEST]), _sha(files[CUSTODY])
    try:
        raw = base64.b64decode(str(signature.get("signature", "")), validate=True)
        trusted.verify(raw, signed_message(manifest_sha, custody_sha))
    except (InvalidSignature, ValueError):
        signed = signature.get("signed") or {}
        changed = [
            name
            for name, sha in ((MANIFEST, manifest_sha), (CUSTODY, custody_sha))
            if signed.get(name) != sha
        ]
        what = " and ".join(changed) if changed else "signature.json"
        check.problems.append(f"signature does not verify: {what} changed after signing")
