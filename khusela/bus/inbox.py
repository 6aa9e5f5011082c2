"""Idempotent consumers: each (consumer, event id) is processed at most once.

A handler that writes to the database calls `claim` in the same transaction as its
changes: a redelivered event then finds its id taken and changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from khusela.bus.ports import Handler
from khusela.bus.tables import inbox
from khusela.core.events import Event
from khusela.store.database import Database


def claim(conn: Connection, consumer: str, event_id: str) -> bool:
    """True the first time `consumer` sees `event_id` (in this transaction), False after."""
    values = {"consumer": consumer, "event_id": event_id, "processed_at": datetime.now(UTC)}
    dialect = conn.dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(inbox).values(**values)
    # RETURNING, not rowcount: SQLAlchemy reports rowcount -1 for an INSERT on psycopg.
    inserted = conn.execute(stmt.on_conflict_do_nothing().returning(inbox.c.event_id)).first()
    return inserted is not None


def seen(conn: Connection, consumer: str, event_id: str) -> bool:
    query = select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    return conn.execute(query).first() is not None


def once_per_event(db: Database, consumer: str, handler: Handler) -> Handler:
    """Wrap a handler with no database work of its own so a redelivery is skipped.

    The id is recorded after the handler succeeds: a crash in between means one more
    run, never none.
    """

    async def wrapped(event: Event) -> None:
        if await _seen(db, consumer, event.id):
            return
        await handler(event)
        await _mark(db, consumer, event.id)

    return wrapped


async def _seen(db: Database, consumer: str, event_id: str) -> bool:
    def check() -> bool:
        with db.read() as conn:
            return seen(conn, consumer, event_id)

    return await asyncio.to_thread(check)


async def _mark(db: Database, consumer: str, event_id: str) -> None:
    def mark() -> None:
        with db.write() as conn:
            claim(conn, consumer, event_id)

    await asyncio.to_thread(mark)
