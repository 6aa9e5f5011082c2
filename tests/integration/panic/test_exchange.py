"""Exporting an alert through the API: CAP 1.2 checked against our CAP schema (which has
teeth), EIDO-style JSON with units and agencies, need-to-know, audit, and no personal
details from the resident."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select

from khusela.api.app import create_app
from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic import dispatch
from khusela.panic.exchange import cap
from khusela.panic.model import UnitKind
from khusela.panic.units import register_unit
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW, resident_headers

PHONE = "+27825550101"
NOTE = "My ex is outside with a knife, call my sister 0825550177"
NS = {"cap": cap.CAP_NS}


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


@pytest.fixture
def resident(client: TestClient, platform: Platform, people: People) -> dict[str, str]:
    person = people.user("nomsa", Role.RESIDENT, phone=PHONE)
    return resident_headers(client, platform, person, PHONE)


@pytest.fixture
def operator(client: TestClient, people: People) -> dict[str, str]:
    return bearer(client, people.user("thandi", Role.OPERATOR))


@pytest.fixture
def alert_id(client: TestClient, resident: dict[str, str]) -> str:
    body = {
        "type": "crime",
        "lat": HILLBROW[0],
        "lon": HILLBROW[1],
        "accuracy_m": 12,
        "client_alert_id": "c1",
        "note": NOTE,
    }
    response = client.post("/api/panic/alerts", headers=resident, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def export_cap(client: TestClient, headers: dict[str, str], alert_id: str) -> bytes:
    response = client.get(f"/api/panic/alerts/{alert_id}/cap", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml"
    return response.content


def test_cap_export_validates_against_our_cap_schema(
    client: TestClient, operator: dict[str, str], alert_id: str
) -> None:
    body = export_cap(client, operator, alert_id)
    document = cap.parse(body)
    assert cap.schema().validate(document), cap.schema().error_log
    assert cap.errors(document) == []
    assert document.tag == f"{{{cap.CAP_NS}}}alert"
    assert document.findtext("cap:identifier", namespaces=NS) == f"{alert_id}.1"
    assert document.findtext("cap:sender", namespaces=NS) == "khusela@gp.gov.za"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+02:00", document.findtext("cap:sent", namespaces=NS) or ""
    )
    assert document.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert document.findtext("cap:scope", namespaces=NS) == "Restricted"
    assert document.findtext("cap:info/cap:category", namespaces=NS) == "Security"
    assert document.findtext("cap:info/cap:area/cap:circle", namespaces=NS) == "-26.18850,28.04700 0.012"


def test_the_resident_note_and_phone_never_appear(
    client: TestClient, operator: dict[str, str], alert_id: str
) -> None:
    detail = client.get(f"/api/panic/alerts/{alert_id}", headers=operator).json()
    assert detail["note"] == NOTE, "the operator does see the note in the console"
    exported = (
        export_cap(client, operator, alert_id).decode()
        + client.get(f"/api/panic/alerts/{alert_id}/eido", headers=operator).text
    )
    for personal in ("knife", "0825550177", PHONE, "825550101", detail["resident_id"]):
        assert personal not in exported


@pytest.mark.parametrize(
    ("path", "breakage"),
    [
        ("scope", "remove"),
        ("msgType", "Panic"),
        ("scope", "Everyone"),
        ("sent", "2026-03-14T18:30:15.250+02:00"),
        ("sent", "2026-03-14T16:30:15Z"),
        ("identifier", "alert 42"),
        ("info/cap:urgency", "Soon"),
        ("info/cap:category", "Crime"),
        ("info/cap:area/cap:circle", "near the taxi rank"),
        ("info/cap:area/cap:areaDesc", "remove"),
        ("info/cap:event", "remove"),
        ("sender", "swap-with-identifier"),
    ],
)
def test_a_broken_document_does_not_validate(
    client: TestClient, operator: dict[str, str], alert_id: str, path: str, breakage: str
) -> None:
    document = cap.parse(export_cap(client, operator, alert_id))
    element = document.find(f"cap:{path}", NS)
    assert element is not None
    if breakage == "remove":
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)
    elif breakage == "swap-with-identifier":
        document.remove(element)
        document.insert(0, element)  # <sender> before <identifier>: wrong order
    else:
        element.text = breakage
    assert not cap.schema().validate(document)
    assert cap.errors(document)


def test_an_update_refers_to_the_first_message(
    client: TestClient, operator: dict[str, str], alert_id: str
) -> None:
    assert client.post(f"/api/panic/alerts/{alert_id}/acknowledge", headers=operator).status_code == 200
    document = cap.parse(export_cap(client, operator, alert_id))
    assert document.findtext("cap:msgType", namespaces=NS) == "Update"
    assert document.findtext("cap:identifier", namespaces=NS) == f"{alert_id}.2"
    references = document.findtext("cap:references", namespaces=NS) or ""
    assert references.startswith(f"khusela@gp.gov.za,{alert_id}.1,")
    assert cap.errors(document) == []


def test_an_unlocated_alert_exports_without_a_circle(
    client: TestClient, operator: dict[str, str], resident: dict[str, str]
) -> None:
    created = client.post(
        "/api/panic/alerts", headers=resident, json={"type": "medical", "client_alert_id": "nofix"}
    ).json()
    document = cap.parse(export_cap(client, operator, created["id"]))
    assert cap.errors(document) == []
    assert document.find("cap:info/cap:area/cap:circle", NS) is None
    assert document.findtext("cap:info/cap:area/cap:areaDesc", namespaces=NS) == "Location unknown"
    assert document.findtext("cap:info/cap:category", namespaces=NS) == "Health"
    eido = client.get(f"/api/panic/alerts/{created['id']}/eido", headers=operator).json()
    assert eido["locationComponent"][0]["locationDescriptionText"] == "Location unknown"
    assert "locationByValue" not in eido["locationComponent"][0]


def test_eido_maps_incident_location_agencies_and_units(
    client: TestClient, platform: Platform, people: People, operator: dict[str, str], alert_id: str
) -> None:
    saps = people.agency(
        "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    with platform.db.write() as conn:
        unit = register_unit(
            conn,
            SYSTEM,
            agency_id=saps,
            callsign="HB-21",
            kind=UnitKind.POLICE_VEHICLE,
            lat=HILLBROW[0] + 0.01,
            lon=HILLBROW[1],
            province="GP",
            municipality="JHB",
        )
    operator_principal = people.user("dispatcher", Role.OPERATOR).principal
    with platform.db.write() as conn:
        dispatch.dispatch(conn, operator_principal, alert_id, unit.id)
    response = client.get(f"/api/panic/alerts/{alert_id}/eido", headers=operator)
    assert response.status_code == 200, response.text
    eido: dict[str, Any] = response.json()
    incident = eido["incidentComponent"]
    assert (
        incident["incidentTrackingIdentifier"] == f"urn:emergency:uid:incidentid:{alert_id}:khusela.gp.gov.za"
    )
    assert incident["internalIncidentId"] == alert_id
    assert incident["incidentTypeInternalCode"] == "crime"
    assert incident["incidentStatusInternalText"] == ["dispatched"]
    assert incident["incidentPriorityInternalText"] == "P2"
    assert incident["incidentCommonPriorityNumber"] == 7
    assert incident["locationReference"] == [{"$ref": f"location-{alert_id}"}]
    assert incident["updatedByAgencyReference"] == {"$ref": f"agency-{saps}"}
    assert eido["issuingElementIdentification"] == "khusela.gp.gov.za"
    assert eido["khuselaProfile"] == "khusela-eido-style/1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+02:00", eido["lastUpdateTimestamp"])

    location = eido["locationComponent"][0]
    assert location["khuselaPosition"]["coordinates"] == [28.047, -26.1885]
    assert location["khuselaPosition"]["uncertaintyMeters"] == 12
    pidf = etree.fromstring(location["locationByValue"].encode())
    pos = pidf.findtext(".//{http://www.opengis.net/gml}pos")
    radius = pidf.findtext(".//{http://www.opengis.net/pidflo/1.0}radius")
    assert (pos, radius) == ("-26.188500 28.047000", "12")

    [agency] = eido["agencyComponent"]
    assert agency["$id"] == f"agency-{saps}"
    assert agency["agencyType"] == ["urn:emergency:service:responder.police"]
    assert agency["incidentOwningAgencyIndicator"] is True
    assert agency["agencyJcard"][1][2] == ["fn", {}, "text", "SAPS Hillbrow"]
    [resource] = eido["emergencyResourceComponent"]
    assert resource["emergencyResourceName"] == "HB-21"
    assert resource["unitStatusInternal"] == ["assigned"]
    assert "eta" in resource
    [dispatched] = eido["dispatchComponent"]
    assert dispatched["agencyReference"] == {"$ref": f"agency-{saps}"}
    assert dispatched["emergencyResourceReference"] == [{"$ref": resource["$id"]}]
    json.dumps(eido)  # plain JSON throughout


def test_an_operator_outside_the_jurisdiction_gets_404(
    client: TestClient, people: People, alert_id: str
) -> None:
    tmpd = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    tshwane = bearer(client, people.user("pieter", Role.OPERATOR, agency_id=tmpd))
    for fmt in ("cap", "eido"):
        response = client.get(f"/api/panic/alerts/{alert_id}/{fmt}", headers=tshwane)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    missing = client.get("/api/panic/alerts/00000000-0000-7000-8000-000000000000/cap", headers=tshwane)
    assert missing.status_code == 404, "unknown and not-yours look the same"


def test_residents_may_not_export_even_their_own(
    client: TestClient, resident: dict[str, str], alert_id: str
) -> None:
    for fmt in ("cap", "eido"):
        assert client.get(f"/api/panic/alerts/{alert_id}/{fmt}", headers=resident).status_code == 403


def test_every_export_is_audited(
    client: TestClient, platform: Platform, operator: dict[str, str], alert_id: str
) -> None:
    export_cap(client, operator, alert_id)
    client.get(f"/api/panic/alerts/{alert_id}/eido", headers=operator)
    with platform.db.read() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.details).where(
                audit_log.c.action == "panic.export", audit_log.c.object_id == alert_id
            )
        ).all()
    assert [(r.actor, json.loads(r.details)["format"]) for r in rows] == [
        ("thandi", "cap-1.2"),
        ("thandi", "khusela-eido-style/1"),
    ]
