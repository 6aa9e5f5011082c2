"""Ed25519 signatures over canonical JSON, so a partner instance can prove who sent a bundle.

Keys are exchanged out of band (PEM files handed over between provincial administrators);
this module only loads, fingerprints, signs and verifies. Canonical form: sorted keys, no
spaces, UTF-8 — both sides re-encode the same data to the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical_json(data: Any) -> bytes:
    """The one byte encoding that is signed: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted when a password is given (as it should be on disk)."""
    crypt: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, crypt)


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(pem: bytes, password: bytes | None = None) -> Ed25519PrivateKey:
    """Load this instance's signing key; anything but an Ed25519 key is refused."""
    try:
        key = serialization.load_pem_private_key(pem, password)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read the signing key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 key")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Load a partner's public key as received out of band."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read the partner's public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("a partner's key must be an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint administrators read to each other over the phone to confirm a key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(data: Any, key: Ed25519PrivateKey) -> str:
    """Base64 signature over the canonical encoding of `data`."""
    return base64.b64encode(key.sign(canonical_json(data))).decode("ascii")


def verify(data: Any, signature: str, key: Ed25519PublicKey) -> bool:
    """Whether `signature` is `key`'s signature over `data`; malformed signatures are just False."""
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical_json(data))
    except (InvalidSignature, ValueError):
        return False
    return True
