"""Bearer-token authentication with a short-lived in-process cache.

A token lookup costs database round trips; consoles poll often, so a resolved principal
is kept for a few seconds (never past the token's own expiry). Concurrent misses for one
token share a single lookup, and lifetimes carry jitter, so a busy console's requests do
not all go to the database at the same instant when an entry expires. Logout on this node drops
the entry at once; on other nodes a revoked token, or a changed role, lives at most
`ttl_seconds` longer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from khusela.identity.model import Principal
from khusela.identity.sessions import resolve_token, token_digest
from khusela.store.database import Database


class Authenticator:
    def __init__(
        self, db: Database, pepper: str, ttl_seconds: float = 5.0, max_entries: int = 50_000
    ) -> None:
        self._db, self._pepper, self._ttl, self._max = db, pepper, ttl_seconds, max_entries
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[Principal | None]] = {}

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
        lifetime = min(self._ttl * random.uniform(0.8, 1.0), left)  # noqa: S311 - jitter, not security
        self._cache[self._key(token)] = (time.monotonic() + lifetime, session.principal)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return session.principal

    async def authenticate(self, token: str) -> Principal | None:
        """The principal for `token`: from the cache, or one shared lookup in a worker thread."""
        hit = self.cached(token)
        if hit is not None:
            return hit
        key = self._key(token)
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(run_in_threadpool(self.resolve, token))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _done: self._inflight.pop(key, None))
        return await asyncio.shield(pending)

    def forget(self, token: str) -> None:
        self._cache.pop(self._key(token), None)
