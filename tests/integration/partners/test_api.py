"""Through the API: an agreement created, reported on and exported; a joint operation from
plan to debrief with a linked panic alert; a community alert reaching its subscribers with a
CAP feed that validates; patrol reports screened for personal information."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import insert

from khusela.bootstrap import Platform
from khusela.identity.adapters.sms_log import LogSmsSender
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.panic.exchange import cap
from khusela.partners import cap_feed
from khusela.risk.tables import risk_incidents
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW, resident_headers

JHB = Jurisdiction(municipalities=frozenset({"JHB"}), provinces=frozenset({"GP"}))
HILLBROW_CELL = h3.latlng_to_cell(*HILLBROW, 7)
NS = {"cap": cap.CAP_NS, "atom": cap_feed.ATOM_NS}


def _now() -> datetime:
    return datetime.now(UTC)


def test_agreement_created_reported_on_and_exported(client: TestClient, people: People) -> None:
    city = people.agency("City of Johannesburg", AgencyType.MUNICIPALITY, JHB)
    jmpd = people.agency("JMPD", AgencyType.METRO_POLICE, JHB)
    official = bearer(client, people.user("mayco-safety", Role.MUNICIPAL_OFFICIAL, agency_id=city))
    metro = bearer(client, people.user("jmpd-cc", Role.OPERATOR, agency_id=jmpd))
    created = client.post(
        "/api/partners/agreements",
        headers=official,
        json={
            "title": "Inner-city implementation agreement",
            "type": "implementation",
            "party_ids": [city, jmpd],
            "status": "active",
            "signed_on": "2026-02-01",
            "municipality": "JHB",
        },
    )
    assert created.status_code == 201, created.text
    agreement_id = created.json()["id"]
    pdf = b"%PDF-1.4\n% signed agreement\n%%EOF\n"
    stored = client.post(
        f"/api/partners/agreements/{agreement_id}/document?name=signed.pdf",
        headers={**official, "Content-Type": "application/pdf"},
        content=pdf,
    )
    assert stored.status_code == 200, stored.text
    again = client.post(
        f"/api/partners/agreements/{agreement_id}/document",
        headers={**official, "Content-Type": "application/pdf"},
        content=pdf + b"v2",
    )
    assert again.status_code == 409
    assert client.get(f"/api/partners/agreements/{agreement_id}/document", headers=metro).content == pdf

    area = client.post(
        f"/api/partners/agreements/{agreement_id}/areas",
        headers=official,
        json={"kind": "bylaw_enforcement", "title": "By-law enforcement"},
    ).json()
    due = (_now() + timedelta(days=60)).date().isoformat()
    commitment = client.post(
        f"/api/partners/areas/{area['id']}/commitments",
        headers=official,
        json={
            "what": "Joint by-law blitz each month",
            "responsible_agency_id": jmpd,
            "due_on": due,
            "indicator": "By-law notices issued",
            "source": "operations.bylaw_notices",
            "target": 300,
        },
    )
    assert commitment.status_code == 201, commitment.text
    evidence = client.post(
        "/api/partners/files",
        headers={**metro, "Content-Type": "application/pdf"},
        content=b"%PDF-1.4 minutes",
    ).json()
    progress = client.post(
        f"/api/partners/commitments/{commitment.json()['id']}/progress",
        headers=metro,
        json={
            "percent": 40,
            "on_track": False,
            "note": "Two blitzes held",
            "value": 120,
            "evidence_sha256": evidence["sha256"],
        },
    )
    assert progress.status_code == 201, progress.text
    assert progress.json()["health"] == "at_risk"
    board = client.get("/api/partners/dashboard", headers=official).json()
    assert [c["what"] for c in board] == ["Joint by-law blitz each month"]

    quarter = f"{_now().year}Q{(_now().month - 1) // 3 + 1}"
    report = client.get(
        f"/api/partners/agreements/{agreement_id}/report?quarter={quarter}&format=csv", headers=official
    )
    assert report.status_code == 200, report.text
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [(r["commitment"], r["reported_value"], r["platform_value"], r["health"]) for r in rows] == [
        ("Joint by-law blitz each month", "120", "0", "at_risk")
    ]
    as_pdf = client.get(f"/api/partners/agreements/{agreement_id}/report?quarter={quarter}", headers=official)
    assert as_pdf.headers["content-type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF-")
    assert (
        client.get(f"/api/partners/agreements/{agreement_id}/report?quarter=Q3", headers=official).status_code
        == 422
    )


def _incident(
    platform: Platform, category: str, where: tuple[float, float], province: str, municipality: str
) -> int:
    with platform.db.write() as conn:
        made = conn.execute(
            insert(risk_incidents)
            .values(
                at=_now() - timedelta(minutes=30),
                lat=where[0],
                lon=where[1],
                cell=h3.latlng_to_cell(*where, 9),
                province=province,
                municipality=municipality,
                category=category,
                source="test",
                source_ref=f"{municipality}-{category}",
            )
            .returning(risk_incidents.c.id)
        )
        return int(made.scalar_one())


def test_joint_operation_from_plan_to_debrief(client: TestClient, platform: Platform, people: People) -> None:
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, JHB)
    cpf = people.agency("Hillbrow CPF", AgencyType.CPF, JHB)
    operator = bearer(client, people.user("cmdr-ndlovu", Role.OPERATOR, agency_id=saps))
    volunteer = bearer(client, people.user("cpf-lindiwe", Role.COMMUNITY_PARTNER, agency_id=cpf))
    resident = people.user("sipho", Role.RESIDENT, phone="+27825550199")
    panic = client.post(
        "/api/panic/alerts",
        headers=resident_headers(client, platform, resident, "+27825550199"),
        json={
            "type": "crime",
            "lat": HILLBROW[0],
            "lon": HILLBROW[1],
            "accuracy_m": 10,
            "client_alert_id": "op1",
        },
    )
    assert panic.status_code == 201, panic.text

    def plan(name: str, tlp: str) -> dict[str, str]:
        response = client.post(
            "/api/partners/operations",
            headers=operator,
            json={
                "name": name,
                "objective": "Disrupt drug dealing around the taxi rank",
                "starts_at": (_now() - timedelta(hours=1)).isoformat(),
                "ends_at": (_now() + timedelta(hours=5)).isoformat(),
                "lead_agency_id": saps,
                "commander": "Lt-Col. Ndlovu",
                "participants": {saps: ["HB-12", "HB-14"], cpf: ["patrol A"]},
                "polygon": [[-26.185, 28.043], [-26.185, 28.052], [-26.192, 28.052], [-26.192, 28.043]],
                "briefing": "Two entry teams; CPF patrol observes from Pretoria St.",
                "marking": {"tlp": tlp},
                "municipality": "JHB",
            },
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    op = plan("Operation Shanela Hillbrow", "GREEN")
    secret = plan("Operation Shanela (entry teams)", "AMBER")
    assert op["banner"] == "TLP:GREEN // UNCLASSIFIED"
    assert HILLBROW_CELL in op["cells"]
    link = client.post(
        f"/api/partners/operations/{op['id']}/links",
        headers=operator,
        json={"kind": "panic_alert", "ref_id": panic.json()["id"]},
    )
    assert link.status_code == 201, link.text
    assert "Panic alert (crime)" in link.json()["summary"]
    assert "operation" not in link.json()["summary"].lower()
    duplicate = client.post(
        f"/api/partners/operations/{op['id']}/links",
        headers=operator,
        json={"kind": "panic_alert", "ref_id": panic.json()["id"]},
    )
    assert duplicate.status_code == 409
    # A recorded incident from the risk log goes on the same timeline; a Cape Town one is
    # not the operator's to read, and an id that is not a number is simply not found.
    here = _incident(platform, "burglary_residential", HILLBROW, "GP", "JHB")
    elsewhere = _incident(platform, "burglary_residential", (-33.9249, 18.4241), "WC", "CPT")
    linked = client.post(
        f"/api/partners/operations/{op['id']}/links",
        headers=operator,
        json={"kind": "incident", "ref_id": str(here)},
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["summary"] == "Incident (burglary_residential) in JHB"
    for ref in (str(elsewhere), "not-a-number"):
        refused = client.post(
            f"/api/partners/operations/{op['id']}/links",
            headers=operator,
            json={"kind": "incident", "ref_id": ref},
        )
        assert refused.status_code == 404, refused.text
    outcome = client.post(
        f"/api/partners/operations/{op['id']}/outcomes",
        headers=operator,
        json={"kind": "arrest", "quantity": 3, "description": "suspects for dealing"},
    )
    assert outcome.status_code == 201
    closed = client.post(
        f"/api/partners/operations/{op['id']}/debrief",
        headers=operator,
        json={"debrief": "Three arrests; the rank's CCTV blind spot needs a camera."},
    )
    assert closed.json()["status"] == "closed"
    timeline = client.get(f"/api/partners/operations/{op['id']}/timeline", headers=operator).json()
    kinds = [e["kind"] for e in timeline]
    assert kinds.index("window_start") < kinds.index("panic_alert") < kinds.index("window_end")
    assert "outcome:arrest" in kinds
    late = client.post(
        f"/api/partners/operations/{op['id']}/outcomes",
        headers=operator,
        json={"kind": "seizure", "description": "late"},
    )
    assert late.status_code == 409
    # The CPF takes part in both, but sees only the one marked TLP:GREEN.
    seen = [o["name"] for o in client.get("/api/partners/operations", headers=volunteer).json()]
    assert seen == ["Operation Shanela Hillbrow"]
    assert client.get(f"/api/partners/operations/{secret['id']}", headers=volunteer).status_code == 404


def test_community_alert_reaches_subscribers_and_the_cap_feed_validates(
    client: TestClient, platform: Platform, people: People
) -> None:
    metro = people.agency("JMPD", AgencyType.METRO_POLICE, JHB)
    cpf = people.agency("Yeoville CPF", AgencyType.CPF, JHB)
    operator = bearer(client, people.user("jmpd-cc", Role.OPERATOR, agency_id=metro))
    follower = people.user("thabo", Role.RESIDENT, phone="+27825550111")
    elsewhere = people.user("anele", Role.RESIDENT, phone="+27825550122")
    member = people.user("cpf-zanele", Role.COMMUNITY_PARTNER, agency_id=cpf, phone="+27825550133")
    patrol = client.put(
        f"/api/partners/groups/{cpf}/patrol-area",
        headers=bearer(client, member),
        json={"cells": [HILLBROW_CELL]},
    )
    assert patrol.status_code == 200, patrol.text
    fine_cell = h3.latlng_to_cell(HILLBROW[0], HILLBROW[1], 9)
    follow = client.post(
        "/api/partners/subscriptions",
        headers=resident_headers(client, platform, follower, "+27825550111"),
        json={"kind": "cell", "value": fine_cell},
    )
    assert follow.status_code == 201, follow.text
    assert follow.json()[0]["value"] == HILLBROW_CELL  # kept at neighbourhood level
    client.post(
        "/api/partners/subscriptions",
        headers=resident_headers(client, platform, elsewhere, "+27825550122"),
        json={"kind": "municipality", "value": "TSH"},
    )
    sms = platform.sms
    assert isinstance(sms, LogSmsSender)
    sms.sent.clear()
    issued = client.post(
        "/api/partners/community-alerts",
        headers=operator,
        json={
            "headline": "Armed robberies at the Hillbrow taxi rank",
            "description": "Three armed robberies of commuters since Friday evening.",
            "area_desc": "Hillbrow, around the taxi rank",
            "severity": "Severe",
            "urgency": "Immediate",
            "instruction": "Travel in groups after dark; report on 10111.",
            "cells": [HILLBROW_CELL],
            "municipality": "JHB",
            "province": "GP",
        },
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["delivery"] == "pending"  # texts go out in the background
    told = delivered(client, operator, issued.json()["id"])
    assert (told["deliveries"]["sms"], told["deliveries"]["push"]) == (2, 2)
    assert {phone for phone, _ in sms.sent} == {"+27825550111", "+27825550133"}
    assert all("Hillbrow" in text for _, text in sms.sent)

    feed = client.get("/api/partners/community-alerts.cap")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(feed.content, parser=cap.safe_parser())
    alerts = root.findall("atom:entry/atom:content/cap:alert", NS)
    assert len(alerts) == 1
    assert cap.errors(alerts[0]) == []
    assert alerts[0].findtext("cap:scope", namespaces=NS) == "Public"
    assert HILLBROW_CELL in [v.text for v in alerts[0].findall(".//cap:geocode/cap:value", NS)]

    alert_id = issued.json()["id"]
    sms.sent.clear()
    cancelled = client.post(f"/api/partners/community-alerts/{alert_id}/cancel", headers=operator)
    assert cancelled.status_code == 200
    assert delivered(client, operator, alert_id)["deliveries"] == {"sms": 2, "push": 2}
    assert all(text.startswith("CANCELLED") for _, text in sms.sent)
    assert len(sms.sent) == 2
    one = cap.parse(client.get(f"/api/partners/community-alerts/{alert_id}.cap").content)
    assert cap.errors(one) == []
    assert one.findtext("cap:msgType", namespaces=NS) == "Cancel"
    references = one.findtext("cap:references", namespaces=NS) or ""
    assert references.split(",")[:2] == ["khusela@gp.gov.za", f"{alert_id}.1"]
    empty = etree.fromstring(client.get("/api/partners/community-alerts.cap").content)
    assert empty.findall("atom:entry", NS) == []


def delivered(client: TestClient, headers: dict[str, str], alert_id: str) -> dict[str, Any]:
    """The alert once its background delivery is complete (the API answers before it is)."""
    deadline = time.monotonic() + 10
    while True:
        alert = client.get(f"/api/partners/community-alerts/{alert_id}", headers=headers)
        assert alert.status_code == 200, alert.text
        if alert.json()["delivery"] == "complete" or time.monotonic() > deadline:
            return dict(alert.json())
        time.sleep(0.02)


def test_patrol_report_is_screened_before_it_is_stored(client: TestClient, people: People) -> None:
    cpf = people.agency("Yeoville CPF", AgencyType.CPF, JHB)
    member = bearer(client, people.user("cpf-zanele", Role.COMMUNITY_PARTNER, agency_id=cpf))
    other_cpf = people.agency("Berea Neighbourhood Watch", AgencyType.NEIGHBOURHOOD_WATCH, JHB)
    outsider = bearer(client, people.user("nw-pieter", Role.COMMUNITY_PARTNER, agency_id=other_cpf))
    text = "Suspicious man at no. 12, ID 8001015009087, his phone 082 555 1234. Two lights out."
    flags = client.post("/api/partners/patrols/screen", headers=member, json={"text": text}).json()
    assert [f["kind"] for f in flags] == ["id_number", "phone_number"]
    body = {
        "started_at": (_now() - timedelta(hours=3)).isoformat(),
        "ended_at": (_now() - timedelta(hours=1)).isoformat(),
        "route": {"type": "LineString", "coordinates": [[28.0470, -26.1885], [28.0500, -26.1900]]},
        "observations": text,
    }
    refused = client.post("/api/partners/patrols", headers=member, json=body)
    assert refused.status_code == 422
    assert "8001015009087" not in refused.text
    edited = client.post(
        "/api/partners/patrols",
        headers=member,
        json={**body, "observations": "Suspicious man at no. 12. Two lights out."},
    )
    assert edited.status_code == 201, edited.text
    assert edited.json()["flags"] == []
    assert edited.json()["municipality"] == "JHB"
    confirmed = client.post(
        "/api/partners/patrols", headers=member, json={**body, "confirm_personal_information": True}
    )
    assert confirmed.json()["flags"] == ["id_number", "phone_number"]
    jpeg = b"\xff\xd8\xff\xe0" + b"patrol photo" * 10
    photo = client.post(
        f"/api/partners/patrols/{edited.json()['id']}/photos",
        headers={**member, "Content-Type": "image/jpeg"},
        content=jpeg,
    )
    assert photo.status_code == 201, photo.text
    sha = photo.json()["photos"][0]["sha256"]
    assert (
        client.get(f"/api/partners/patrols/{edited.json()['id']}/photos/{sha}", headers=member).content
        == jpeg
    )
    assert len(client.get("/api/partners/patrols", headers=member).json()) == 2
    assert client.get("/api/partners/patrols", headers=outsider).json() == []
    warning = {
        "headline": "Watch out tonight",
        "description": "Group broadcast attempt",
        "area_desc": "Yeoville",
    }
    refused_alert = client.post(
        "/api/partners/community-alerts", headers=member, json={**warning, "municipality": "JHB"}
    )
    assert refused_alert.status_code == 403
