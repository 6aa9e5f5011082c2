"""Bearer-token authentication with a short-lived in-process cache.

A token lookup costs a database round trip; operators' consoles poll often, so a resolved
principal is kept for a few seconds. Logout on this node drops the entry at once; on
other nodes a revoked token lives at most `ttl_seconds` longer.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from khusela.identity.model import Principal
from khusela.identity.sessions import resolve_token, token_digest
from khusela.store.database import Database


class Authenticator:
    def __init__(self, db: Database, ttl_seconds: float = 5.0, max_entries: int = 50_000) -> None:
        self._db, self._ttl, self._max = db, ttl_seconds, max_entries
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def cached(self, token: str) -> Principal | None:
        """The principal if it is in the cache and fresh; never touches the database."""
        key = token_digest(token)
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
            principal = resolve_token(conn, token)
        if principal is not None:
            self._cache[token_digest(token)] = (time.monotonic() + self._ttl, principal)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return principal

    def forget(self, token: str) -> None:
        self._cache.pop(token_digest(token), None)
