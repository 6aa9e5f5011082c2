"""The pure CAP 1.2 mapping: every alert state gives a document our CAP schema accepts,
and what the mapping promises (restricted scope, no personal details, CAP's time format)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from khusela.panic.exchange import cap
from khusela.panic.model import AlertStatus, AlertType

NS = {"cap": cap.CAP_NS}
SENDER = "khusela@gp.gov.za"
RAISED = datetime(2026, 3, 14, 16, 30, 15, 123456, tzinfo=UTC)


def alert(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "0195a7e2-4c1d-7000-8000-000000000001",
        "version": 1,
        "resident_id": "resident-42",
        "device_id": None,
        "channel": "app",
        "type": "crime",
        "status": "new",
        "priority": 2,
        "silent": False,
        "duress": False,
        "presses": 1,
        "location_unknown": False,
        "outside_coverage": False,
        "lat": -26.1885,
        "lon": 28.047,
        "accuracy_m": 12.0,
        "location_source": "gps",
        "location_at": RAISED,
        "location_text": None,
        "province": "GP",
        "municipality": "JHB",
        "cell": "87bc2ab4effffff",
        "note": "He has a knife. Call me on 082 555 0101",
        "outcome": None,
        "created_at": RAISED,
        "updated_at": RAISED,
        "closed_at": None,
        "assigned_agency_id": None,
    }
    row.update(changes)
    return row


def text(document: etree._Element, path: str) -> str | None:
    return document.findtext(path, namespaces=NS)


def test_time_has_an_offset_and_no_fraction() -> None:
    assert cap.cap_time(RAISED) == "2026-03-14T18:30:15+02:00"
    assert cap.cap_time(datetime(2026, 3, 14, 16, 30, 15)) == "2026-03-14T18:30:15+02:00", "naive is UTC"


@pytest.mark.parametrize("alert_type", list(AlertType))
@pytest.mark.parametrize("priority", [1, 2, 3, 4])
def test_every_type_and_priority_validates(alert_type: AlertType, priority: int) -> None:
    document = cap.build(alert(type=alert_type.value, priority=priority), SENDER)
    assert cap.errors(document) == []
    assert [c.text for c in document.findall("cap:info/cap:category", NS)] == list(cap.CATEGORIES[alert_type])
    assert text(document, "cap:info/cap:event") == cap.EVENTS[alert_type]
    urgency, severity, certainty = cap.ASSESSMENT[priority]
    assert text(document, "cap:info/cap:urgency") == urgency
    assert text(document, "cap:info/cap:severity") == severity
    assert text(document, "cap:info/cap:certainty") == certainty


@pytest.mark.parametrize("status", list(AlertStatus))
def test_every_status_validates(status: AlertStatus) -> None:
    closed = status in (AlertStatus.RESOLVED, AlertStatus.CANCELLED)
    row = alert(status=status.value, version=4, outcome="attended" if closed else None)
    assert cap.errors(cap.build(row, SENDER)) == []


def test_first_state_is_an_alert_with_the_alert_id() -> None:
    document = cap.build(alert(), SENDER)
    assert text(document, "cap:identifier") == "0195a7e2-4c1d-7000-8000-000000000001.1"
    assert text(document, "cap:incidents") == "0195a7e2-4c1d-7000-8000-000000000001"
    assert text(document, "cap:sender") == SENDER
    assert text(document, "cap:sent") == "2026-03-14T18:30:15+02:00"
    assert text(document, "cap:status") == "Actual"
    assert text(document, "cap:msgType") == "Alert"
    assert document.find("cap:references", NS) is None


def test_later_states_update_and_refer_to_the_first() -> None:
    later = RAISED + timedelta(minutes=2)
    document = cap.build(alert(version=3, status="dispatched", updated_at=later), SENDER)
    assert text(document, "cap:msgType") == "Update"
    assert text(document, "cap:identifier") == "0195a7e2-4c1d-7000-8000-000000000001.3"
    assert text(document, "cap:sent") == "2026-03-14T18:32:15+02:00"
    first = "khusela@gp.gov.za,0195a7e2-4c1d-7000-8000-000000000001.1,2026-03-14T18:30:15+02:00"
    assert text(document, "cap:references") == first


def test_cancelled_is_a_cancel_and_resolved_is_all_clear() -> None:
    cancelled = cap.build(alert(version=2, status="cancelled"), SENDER)
    assert text(cancelled, "cap:msgType") == "Cancel"
    assert text(cancelled, "cap:info/cap:urgency") == "Past"
    resolved = cap.build(alert(version=5, status="resolved", outcome="attended"), SENDER)
    assert text(resolved, "cap:msgType") == "Update"
    assert text(resolved, "cap:info/cap:responseType") == "AllClear"
    assert text(resolved, "cap:info/cap:urgency") == "Past"


def test_scope_is_restricted_never_public() -> None:
    document = cap.build(alert(), SENDER)
    assert text(document, "cap:scope") == "Restricted"
    assert "POPIA" in (text(document, "cap:restriction") or "")


def test_no_personal_details_leave() -> None:
    body = etree.tostring(cap.build(alert(), SENDER))
    for secret in (b"knife", b"082 555 0101", b"resident-42"):
        assert secret not in body


def test_area_is_a_circle_of_the_fix_and_its_accuracy() -> None:
    document = cap.build(alert(accuracy_m=850.0), SENDER)
    assert text(document, "cap:info/cap:area/cap:circle") == "-26.18850,28.04700 0.850"
    codes = {
        g.findtext("cap:valueName", namespaces=NS): g.findtext("cap:value", namespaces=NS)
        for g in document.findall("cap:info/cap:area/cap:geocode", NS)
    }
    assert codes == {"ISO3166-2": "ZA-GP", "ZA-MDB": "JHB", "H3": "87bc2ab4effffff"}


def test_a_fix_without_accuracy_is_a_point() -> None:
    document = cap.build(alert(accuracy_m=None), SENDER)
    assert text(document, "cap:info/cap:area/cap:circle") == "-26.18850,28.04700 0.000"
    assert "accuracy not reported" in (text(document, "cap:info/cap:area/cap:areaDesc") or "")


@pytest.mark.parametrize(
    ("typed", "described"),
    [
        ("Outside Shoprite, Bree Street taxi rank", "Typed location: Outside Shoprite"),
        (None, "Location unknown"),
    ],
)
def test_unlocated_alerts_have_only_a_description(typed: str | None, described: str) -> None:
    row = alert(
        location_unknown=True, lat=None, lon=None, accuracy_m=None, location_text=typed, municipality=None
    )
    document = cap.build(row, SENDER)
    assert cap.errors(document) == []
    assert document.find("cap:info/cap:area/cap:circle", NS) is None
    assert (text(document, "cap:info/cap:area/cap:areaDesc") or "").startswith(described)


def test_silent_and_duress_tell_responders_how_to_approach() -> None:
    silent = cap.build(alert(silent=True), SENDER)
    assert "without sirens" in (text(silent, "cap:info/cap:instruction") or "")
    duress = cap.build(alert(duress=True, priority=1), SENDER)
    assert "duress" in (text(duress, "cap:info/cap:instruction") or "")
    plain = cap.build(alert(), SENDER)
    assert plain.find("cap:info/cap:instruction", NS) is None


def test_default_sender_names_the_province() -> None:
    assert cap.default_sender("GP") == "khusela@gp.gov.za"
    assert cap.default_sender(None) == "khusela@za.gov.za"


def test_rules_beyond_the_schema() -> None:
    document = cap.build(alert(), SENDER)
    restriction = document.find("cap:restriction", NS)
    assert restriction is not None
    document.remove(restriction)
    assert cap.errors(document) == ["<restriction> is required when <scope> is Restricted"]
    off_globe = cap.build(alert(lat=-95.0), SENDER)
    assert any("outside WGS 84" in e for e in cap.errors(off_globe))


def test_render_refuses_an_invalid_document() -> None:
    with pytest.raises(cap.InvalidCap):
        cap.render(alert(lat=-95.0), SENDER)
    assert cap.render(alert(), SENDER).startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
