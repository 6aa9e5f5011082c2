"""Per-client rate limits: in-process token buckets, or Redis windows shared by API nodes."""

from __future__ import annotations

import time
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool:
        """Count one request for `key`; False when it is over its limit."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryRateLimiter:
    """A token bucket per client: `per_minute` sustained, bursts up to the same number."""

    def __init__(self, per_minute: int, max_clients: int = 100_000) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(per_minute)
        self._max = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    async def allow(self, key: str) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if key not in self._buckets and len(self._buckets) >= self._max:
            # Bounded memory under a flood of new clients: forget the longest-idle ones.
            for stale in list(self._buckets)[: self._max // 10 or 1]:
                del self._buckets[stale]
        self._buckets.pop(key, None)  # re-insert below so dict order is least-recently-seen first
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    async def close(self) -> None:
        self._buckets.clear()


class RedisRateLimiter:
    """A fixed one-minute window per client in Redis, so every API node counts together.

    If Redis is unreachable the request is allowed: rate limiting must never stop a
    panic alert from getting through.
    """

    def __init__(self, url: str, per_minute: int, prefix: str = "khusela:rl:") -> None:
        self._redis = aioredis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.5)
        self._limit, self._prefix = per_minute, prefix

    async def allow(self, key: str) -> bool:
        window = int(time.time() // 60)
        name = f"{self._prefix}{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, 120)
                count, _ = await pipe.execute()
        except (RedisError, OSError):
            return True
        return int(count) <= self._limit

    async def close(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(redis_url: str | None, per_minute: int) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis_url, per_minute)
    return MemoryRateLimiter(per_minute)
