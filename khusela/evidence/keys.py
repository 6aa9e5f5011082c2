"""The instance's Ed25519 signing key for export packages.

The private key lives in `<data_dir>/keys/evidence-ed25519.pem` (mode 0600, created on
first use, never overwritten). A package names its key by `key_id`: the first 16 bytes of
the SHA-256 of the raw public key, in hex, which is also this instance's id in manifests.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from khusela.core.errors import InvalidInput, NotFound

KEY_FILE = "evidence-ed25519.pem"


def key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / KEY_FILE


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """This instance's key, created (exclusively, 0600) if it does not exist yet."""
    path = key_path(data_dir)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise InvalidInput(f"{path} does not hold an Ed25519 private key")
    return loaded


def own_public_key(data_dir: Path) -> Ed25519PublicKey:
    """This instance's public key, without creating a key pair (verifying must not)."""
    path = key_path(data_dir)
    if not path.exists():
        raise NotFound("this instance has no evidence signing key yet: give --public-key")
    return signing_key(data_dir).public_key()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_pem(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise InvalidInput("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key is not an Ed25519 key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]
