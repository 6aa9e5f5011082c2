"""Inserts that may clash with a unique key, turned into a `Conflict` a user can read."""

from __future__ import annotations

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import IntegrityError

from khusela.core.errors import Conflict


def insert_unique(conn: Connection, statement: Executable, conflict: str) -> None:
    """Run `statement` in a savepoint; on a unique-key clash raise `Conflict(conflict)`.

    The savepoint keeps the caller's transaction usable after the clash.
    """
    try:
        with conn.begin_nested():
            conn.execute(statement)
    except IntegrityError:
        raise Conflict(conflict) from None
