"""Cases, items and custody on SQLite and PostgreSQL: one transaction, verified chain."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update

from khusela.audit import log as audit
from khusela.audit.tables import audit_log
from khusela.core.errors import Conflict, InvalidInput, NotFound
from khusela.evidence import custody, locker
from khusela.evidence.storage import LocalWriteOnceStore
from khusela.evidence.tables import evidence_custody, evidence_items
from tests.integration.evidence.conftest import MEDIA, Locker


def test_items_custody_and_audit_are_recorded_together(filled: Locker) -> None:
    with filled.db.snapshot() as conn:
        items = locker.items_of(conn, filled.case.id)
        log = custody.entries(conn, filled.case.id)
        assert custody.verify_case(conn, filled.case.id).ok
        audited = conn.execute(
            select(audit_log.c.action).where(audit_log.c.action.like("evidence.%")).order_by(audit_log.c.seq)
        ).scalars()
        assert list(audited) == ["evidence.case_created"] + ["evidence.item_added"] * 3
        assert audit.verify(conn).ok
    assert [i.original_name for i in items] == list(MEDIA)
    assert items[0].source == {"camera_id": "cam-17", "clock_offset_s": -2.5}
    assert [e.action for e in log] == ["created", "added", "added", "added"]
    assert [e.item_id for e in log[1:]] == [i.id for i in items]
    for item in items:
        assert filled.store.verify(item.sha256) == item.size


def test_the_same_bytes_twice_in_a_case_are_a_conflict(filled: Locker) -> None:
    kind, media_type, data = MEDIA["clip.mp4"]
    with pytest.raises(Conflict, match="already item"), filled.db.write() as conn:
        locker.add_item(
            conn, filled.store, "thandi", filled.case.id, io.BytesIO(data), kind, media_type, "again.mp4"
        )
    with filled.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(evidence_items)).scalar() == 3


def test_a_failed_add_leaves_no_row_and_no_custody_entry(filled: Locker) -> None:
    with pytest.raises(NotFound), filled.db.write() as conn:
        locker.add_item(
            conn, filled.store, "x", "no-such-case", io.BytesIO(b"abc"), locker.ItemKind.CLIP, "", "a"
        )
    with pytest.raises(InvalidInput), filled.db.write() as conn:
        locker.add_item(
            conn, filled.store, "x", filled.case.id, io.BytesIO(b""), locker.ItemKind.CLIP, "", "a"
        )
    with filled.db.read() as conn:
        assert locker.get_case(conn, filled.case.id).custody_seq == 4


def test_duplicate_and_malformed_case_numbers(filled: Locker) -> None:
    with pytest.raises(Conflict, match="exists already"), filled.db.write() as conn:
        locker.create_case(conn, "thandi", "cas 123 / 11 / 2026", "Again", filled.case.agency_id)
    with pytest.raises(InvalidInput), filled.db.write() as conn:
        locker.create_case(conn, "thandi", "123/2026", "Bad", filled.case.agency_id)


def test_views_and_legal_hold_are_in_custody(filled: Locker) -> None:
    with filled.db.write() as conn:
        locker.record_view(conn, "sipho", filled.items[1])
        case = locker.set_legal_hold(conn, "sipho", filled.case.id, True, "court order 42")
    assert case.legal_hold
    with filled.db.snapshot() as conn:
        log = custody.entries(conn, filled.case.id)
        assert custody.verify_case(conn, filled.case.id).ok
    assert [(e.action, e.actor) for e in log[-2:]] == [("viewed", "sipho"), ("legal_hold", "sipho")]


def test_an_edited_custody_row_is_named(filled: Locker) -> None:
    with filled.db.write() as conn:
        conn.execute(
            update(evidence_custody)
            .where(evidence_custody.c.case_id == filled.case.id, evidence_custody.c.seq == 3)
            .values(actor="mallory")
        )
    with filled.db.snapshot() as conn:
        result = custody.verify_case(conn, filled.case.id)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_a_deleted_custody_row_is_named(filled: Locker) -> None:
    with filled.db.write() as conn:
        conn.execute(
            evidence_custody.delete().where(
                evidence_custody.c.case_id == filled.case.id, evidence_custody.c.seq == 2
            )
        )
    with filled.db.snapshot() as conn:
        result = custody.verify_case(conn, filled.case.id)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_cases_share_no_chain(filled: Locker) -> None:
    with filled.db.write() as conn:
        other = locker.create_case(conn, "thandi", "CAS 9/11/2026", "Other", filled.case.agency_id)
    with filled.db.snapshot() as conn:
        assert [e.seq for e in custody.entries(conn, other.id)] == [1]
        assert custody.verify_case(conn, other.id).ok


def test_store_is_shared_between_cases(filled: Locker) -> None:
    kind, media_type, data = MEDIA["still.jpg"]
    with filled.db.write() as conn:
        other = locker.create_case(conn, "thandi", "CAS 10/11/2026", "Other", filled.case.agency_id)
        item = locker.add_item(
            conn, filled.store, "thandi", other.id, io.BytesIO(data), kind, media_type, "s.jpg"
        )
    assert item.sha256 == filled.items[1].sha256
    assert isinstance(filled.store, LocalWriteOnceStore)
