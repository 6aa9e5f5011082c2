"""The audit chain on both backends: intact chains verify, any tampering is named."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, text, update

from khusela.audit import log as audit
from khusela.audit.appender import AuditAppender
from khusela.audit.tables import audit_log
from khusela.store.database import Database


def _fill(db: Database, n: int = 10) -> None:
    with db.write() as conn:
        audit.append(
            conn, [audit.Entry("operator", "panic.read", "alert", f"a{i}", {"i": i}) for i in range(n)]
        )


def test_intact_chain_verifies(database: Database) -> None:
    _fill(database)
    with database.write() as conn:
        audit.record(conn, "admin", "user.create", "user", "u1", {"roles": ["operator"]})
    with database.snapshot() as conn:
        result = audit.verify(conn)
    assert result.ok
    assert result.checked == 11


def test_empty_chain_verifies(database: Database) -> None:
    with database.read() as conn:
        assert audit.verify(conn).ok


def test_edited_record_is_named(database: Database) -> None:
    _fill(database)
    with database.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 4).values(actor="someone-else"))
    with database.snapshot() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "hash" in result.reason


def test_deleted_record_is_named(database: Database) -> None:
    _fill(database)
    with database.write() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 6))
    with database.snapshot() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 6
    assert "missing" in result.reason


def test_reordered_records_are_named(database: Database) -> None:
    _fill(database)
    with database.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(seq=-3))
        conn.execute(update(audit_log).where(audit_log.c.seq == 5).values(seq=3))
        conn.execute(update(audit_log).where(audit_log.c.seq == -3).values(seq=5))
    with database.snapshot() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 3


def test_removed_newest_record_is_detected(database: Database) -> None:
    _fill(database)
    with database.write() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 10))
    with database.snapshot() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.checked == 9


def test_forged_record_with_recomputed_hash_breaks_the_next_link(database: Database) -> None:
    """An attacker who fixes up one record's hash still breaks the link from the next."""
    _fill(database)
    with database.read() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.seq == 2)).one()
    from khusela.audit.chain import record_hash

    forged = record_hash(
        2, row.at, "intruder", row.action, row.object_type, row.object_id, row.details, row.prev_hash
    )
    with database.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="intruder", hash=forged))
    with database.snapshot() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 3


def test_audit_rolls_back_with_the_change(database: Database) -> None:
    """A failed write leaves neither the change nor its audit record."""
    with pytest.raises(RuntimeError), database.write() as conn:
        audit.record(conn, "operator", "panic.dispatch", "alert", "a1")
        raise RuntimeError("the change failed")
    with database.read() as conn:
        assert conn.execute(select(audit_log)).all() == []
        assert audit.verify(conn).ok


def test_direct_insert_without_the_head_is_detected(database: Database) -> None:
    _fill(database, 3)
    with database.write() as conn:
        conn.execute(
            insert(audit_log).values(
                seq=4,
                at=conn.execute(select(audit_log.c.at)).scalar(),
                actor="x",
                action="y",
                object_type="z",
                object_id="w",
                details="{}",
                prev_hash="0" * 64,
                hash="0" * 64,
            )
        )
    with database.snapshot() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 4


def test_concurrent_appends_keep_one_chain(database: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(i: int) -> None:
        with database.write() as conn:
            audit.record(conn, f"user{i}", "x", "y", str(i))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(60)))
    with database.snapshot() as conn:
        result = audit.verify(conn)
        count = conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar()
    assert result.ok, result
    assert count == 60


def _actions(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.seq)).scalars())


def test_staged_records_join_the_chain_when_drained(database: Database) -> None:
    """A staged record is kept at once but chained later, in the order it was staged."""
    for i in range(3):
        with database.write() as conn:
            audit.stage(conn, audit.Entry("resident", f"panic.raise.{i}", "alert", f"a{i}"))
    assert _actions(database) == []
    with database.read() as conn:
        assert audit.staged_count(conn) == 3
    assert AuditAppender(database).drain_once() == 3
    assert _actions(database) == ["panic.raise.0", "panic.raise.1", "panic.raise.2"]
    with database.snapshot() as conn:
        assert audit.verify(conn).ok
        assert audit.staged_count(conn) == 0
    assert AuditAppender(database).drain_once() == 0, "nothing is chained twice"


def test_an_append_chains_what_was_staged_before_it(database: Database) -> None:
    """Raised (staged) then acknowledged (appended): the chain keeps that order."""
    with database.write() as conn:
        audit.stage(conn, audit.Entry("resident", "panic.raise", "alert", "a1"))
    with database.write() as conn:
        audit.record(conn, "operator", "panic.acknowledged", "alert", "a1")
    assert _actions(database) == ["panic.raise", "panic.acknowledged"]
    with database.snapshot() as conn:
        assert audit.verify(conn).ok


def test_a_staged_record_rolls_back_with_the_change(database: Database) -> None:
    with pytest.raises(RuntimeError), database.write() as conn:
        audit.stage(conn, audit.Entry("resident", "panic.raise", "alert", "a1"))
        raise RuntimeError("the alert could not be stored")
    with database.read() as conn:
        assert audit.staged_count(conn) == 0


def test_concurrent_staging_and_appending_keep_one_chain(database: Database) -> None:
    """Alerts stage, operators append and the appender drains, all at once: one intact chain
    holding every record exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    appender = AuditAppender(database, batch=7)

    def write(i: int) -> None:
        with database.write() as conn:
            if i % 3:
                audit.stage(conn, audit.Entry(f"resident{i}", "panic.raise", "alert", str(i)))
            else:
                audit.record(conn, f"operator{i}", "panic.acknowledged", "alert", str(i))
        if i % 5 == 0:
            appender.drain_once()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(60)))
    while appender.drain_once():
        pass
    with database.snapshot() as conn:
        result = audit.verify(conn)
        objects = sorted(int(o) for o in conn.execute(select(audit_log.c.object_id)).scalars())
    assert result.ok, result
    assert objects == list(range(60))
