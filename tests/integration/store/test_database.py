"""Storage on both backends: migrations, time zones, transactions that fail leave nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select

from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType
from khusela.identity.tables import agencies
from khusela.store.database import Database
from khusela.store.migrate import downgrade, is_current, upgrade
from khusela.store.schema import metadata


def test_migrations_create_every_table(database: Database) -> None:
    assert is_current(database)
    tables = set(inspect(database.engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables


def test_upgrade_is_idempotent(database: Database) -> None:
    upgrade(database)
    upgrade(database)
    assert is_current(database)


def test_times_come_back_in_utc(database: Database) -> None:
    sast = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 14, 18, 30, 15, 123456, tzinfo=sast)
    with database.write() as conn:
        conn.execute(
            agencies.insert().values(
                id="a1", name="x", type="ems", provinces=[], municipalities=[], created_at=local
            )
        )
    with database.read() as conn:
        stored = conn.execute(select(agencies.c.created_at)).scalar_one()
    assert stored.tzinfo is not None
    assert stored == local
    assert stored.astimezone(UTC).hour == 16


def test_naive_times_are_refused(database: Database) -> None:
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError), database.write() as conn:
        conn.execute(
            agencies.insert().values(
                id="a1",
                name="x",
                type="ems",
                provinces=[],
                municipalities=[],
                created_at=datetime(2026, 1, 1),
            )
        )


def test_failed_transaction_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.write() as conn:
        directory.create_agency(conn, SYSTEM, "SAPS Hillbrow", AgencyType.SAPS_STATION)
        raise RuntimeError("power cut")
    with database.read() as conn:
        assert conn.execute(select(agencies)).all() == []


def test_duplicate_name_is_a_conflict_and_keeps_the_first(database: Database) -> None:
    from khusela.core.errors import Conflict

    with database.write() as conn:
        directory.create_agency(conn, SYSTEM, "SAPS Hillbrow", AgencyType.SAPS_STATION)
    with pytest.raises(Conflict), database.write() as conn:
        directory.create_agency(conn, SYSTEM, "SAPS Hillbrow", AgencyType.SAPS_STATION)
    with database.read() as conn:
        assert len(conn.execute(select(agencies)).all()) == 1


def test_downgrade_and_upgrade_again(database: Database) -> None:
    downgrade(database, "base")
    assert "agencies" not in inspect(database.engine).get_table_names()
    upgrade(database)
    assert is_current(database)


def test_sqlite_runs_in_wal_mode(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
