"""Bearer-token authentication with a short-lived in-process cache.

A token lookup costs a database round trip; consoles poll often, so a resolved principal
is kept for a few seconds (never past the token's own expiry). Logout on this node drops
the entry at once; on other nodes a revoked token, or a changed role, lives at most
`ttl_seconds` longer.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime

from khusela.identity.model import Principal
from khusela.identity.sessions import resolve_token, token_digest
from khusela.store.database import Database


class Authenticator:
    def __init__(
        self, db: Database, pepper: str, ttl_seconds: float = 5.0, max_entries: int = 50_000
    ) -> None:
        self._db, self._pepper, self._ttl, self._max = db, pepper, ttl_seconds, max_entries
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def _key(self, token: str) -> str:
        return token_digest(token, self._pepper)

    def cached(self, token: str) -> Principal | None:
        """The principal if it is in the cache and fresh; never touches the database."""
        key = self._key(token)
        hit = self._cache.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._cache.pop(key, None)
            return None
        return hit[1]

    def resolve(self, token: str) -> Principal | None:
        """Look the token up in the database and cache the answer (blocking)."""
        with self._db.read() as conn:
            session = resolve_token(conn, token, self._pepper)
        if session is None:
            return None
        left = (session.expires_at - datetime.now(UTC)).total_seconds()
        self._cache[self._key(token)] = (time.monotonic() + min(self._ttl, left), session.principal)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return session.principal

    def forget(self, token: str) -> None:
        self._cache.pop(self._key(token), None)
