"""Sealing short secrets at rest: values the platform must read back (a TOTP seed, a partner's
HMAC key), so they cannot be hashed, yet must be useless to whoever reads the database alone.

A value is sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the server secret
(`KHUSELA_SECRET_KEY`) and a purpose label, so one use's key opens nothing of another's. The
associated data names the table, column and row, so a sealed value copied into another row
(say, an attacker's own user) does not open there. Stored form, plain text that fits a
VARCHAR column:

    sealed:v1:<base64url(nonce[12] | ciphertext | tag[16])>

A value without the `sealed:` prefix is legacy plaintext written before sealing existed;
`open` hands it back unchanged until the migration (0013) seals it. Anything that carries
the prefix but does not open — another key, another row, a flipped bit — raises
`SealError`: the caller fails closed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed:"
VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16
_SALT = b"khusela sealed secrets"
"""Fixed HKDF salt: the input is already a secret, the salt only separates this use of it."""


class SealError(Exception):
    """A sealed value did not open: wrong key, another row's value, or tampered with.

    The message never contains the value or the key, so it is safe to log.
    """


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """Where one kind of sealed value lives, and the purpose its key is derived for."""

    purpose: str
    table: str
    column: str

    def associated_data(self, row_id: str) -> bytes:
        """What binds a sealed value to its row: checked on opening, never stored."""
        return "\x00".join((VERSION, self.table, self.column, row_id)).encode()


def is_sealed(stored: str) -> bool:
    """Whether a stored value is in sealed form (of any version), not legacy plaintext."""
    return stored.startswith(PREFIX)


def derive_key(secret_key: str, purpose: str) -> bytes:
    """The 256-bit AES key for one purpose; changing the server secret changes every key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=f"khusela:{purpose}".encode())
    return hkdf.derive(secret_key.encode())


class Sealer:
    """Seals and opens the values of one `SealedColumn` under one server secret."""

    def __init__(self, secret_key: str, where: SealedColumn) -> None:
        if not secret_key:
            raise ValueError("sealing needs a non-empty server secret")
        self.where = where
        self._aead = AESGCM(derive_key(secret_key, where.purpose))

    def seal(self, value: str, row_id: str) -> str:
        """The stored form of `value` for row `row_id`; a fresh random nonce every time."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode(), self.where.associated_data(row_id))
        return f"{PREFIX}{VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, row_id: str) -> str:
        """The value behind `stored` (legacy plaintext comes back as it is), or `SealError`."""
        if not is_sealed(stored):
            return stored
        version, _, payload = stored[len(PREFIX) :].partition(":")
        if version != VERSION:
            raise SealError(f"{self._names()}: unknown sealed format {version!r}")
        try:
            raw = base64.urlsafe_b64decode(payload.encode())
        except (binascii.Error, ValueError):
            raise SealError(f"{self._names()}: the sealed value is not valid base64") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SealError(f"{self._names()}: the sealed value is truncated")
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            value = self._aead.decrypt(nonce, sealed, self.where.associated_data(row_id))
        except InvalidTag:
            raise SealError(
                f"{self._names()} of row {row_id!r} does not open: sealed under another "
                "KHUSELA_SECRET_KEY, copied from another row, or altered"
            ) from None
        return value.decode()

    def _names(self) -> str:
        return f"{self.where.table}.{self.where.column}"


@functools.lru_cache(maxsize=32)
def sealer(secret_key: str, where: SealedColumn) -> Sealer:
    """A cached `Sealer` (key derivation is cheap, but sign-in needs one per attempt)."""
    return Sealer(secret_key, where)


def from_settings(where: SealedColumn) -> Sealer:
    """The sealer for `where` under the server secret of the process's own settings
    (`KHUSELA_*` and the config file), for callers not handed one by the platform: the CLI,
    the demo seed, migrations, tests. The platform passes its sealers explicitly."""
    from khusela.core.settings import load_settings  # settings import pydantic; keep this module light

    return sealer(load_settings().secret_key, where)
