"""A panic alert as an EIDO-style JSON incident, for exchange with other dispatch systems.

"EIDO-style", not EIDO: the document follows the component structure and field names of
NENA's Emergency Incident Data Object (NENA-STA-021.1a), but it is not a conformant EIDO.
What is mapped (EIDO field ← Khusela):

- `$id` ← `urn:khusela:eido:<alert id>:<version>`; `lastUpdateTimestamp` (every
  component) ← `updated_at` (the location's ← `location_at`);
  `issuingElementIdentification` ← e.g. `khusela.gp.gov.za`.
- incident: `incidentTrackingIdentifier` ← `urn:emergency:uid:incidentid:<alert id>:<element>`;
  `internalIncidentId` ← alert id; `incidentTypeInternalCode`/`…Text` ← alert type and
  its description; `incidentStatusInternalText` ← status; `incidentPriorityInternalText`
  ← `P1`…`P4`; `incidentCommonPriorityNumber` (0 to 10) ← P1 10, P2 7, P3 4, P4 1;
  `dispositionComponent` ← the alert's outcome and each assignment's (per agency).
- `locationComponent`: `locationByValue` ← a PIDF-LO document (RFC 5491: a circle of the
  WGS 84 fix and its uncertainty radius); `locationDescriptionText` ← the typed landmark,
  or "Location unknown".
- `agencyComponent` (`agencyType`, `incidentOwningAgencyIndicator`, `agencyJcard`) ← the
  agencies involved; `dispatchComponent` and `emergencyResourceComponent` ← assignments
  and their units (call sign, kind, assignment status, ETA).

Not mapped (known gaps): the `*CommonRegistryText` values (incident type, status, location
type, unit status) and common disposition codes, which must come from NENA's registries
and APCO's common disposition codes; we give our own values in the `*Internal*` fields
instead. Agency types outside the IANA responder registry are given as
`urn:khusela:agency-type:<type>`. Two Khusela extensions: `khuselaProfile` names this
profile and `khuselaPosition` repeats the fix as plain JSON (GeoJSON-style `[lon, lat]`).
Never included: the resident's note, phone number or identity.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from khusela.core.clock import as_utc
from khusela.panic.exchange.cap import EVENTS, SAST
from khusela.panic.exchange.view import AgencyInfo, ExportView, Responder
from khusela.panic.model import AlertType, LocationSource

PROFILE = "khusela-eido-style/1"
COMMON_PRIORITY = {1: 10, 2: 7, 3: 4, 4: 1}
RESPONDER_URNS = {
    "saps_station": "urn:emergency:service:responder.police",
    "metro_police": "urn:emergency:service:responder.police",
    "ems": "urn:emergency:service:responder.ems",
}

PIDF = "urn:ietf:params:xml:ns:pidf"
GEOPRIV = "urn:ietf:params:xml:ns:pidf:geopriv10"
BASIC_POLICY = "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy"
GML = "http://www.opengis.net/gml"
GS = "http://www.opengis.net/pidflo/1.0"
WGS84 = "urn:ogc:def:crs:EPSG::4326"
METRE = "urn:ogc:def:uom:EPSG::9001"
_METHODS = {
    LocationSource.GPS.value: "GPS",
    LocationSource.NETWORK.value: "Cell",
    LocationSource.DEVICE.value: "Manual",
}


def timestamp(value: datetime) -> str:
    """A NENA-style timestamp: explicit offset (SAST), whole seconds."""
    return as_utc(value).astimezone(SAST).replace(microsecond=0).isoformat()


def element_id_of(sender: str) -> str:
    """`khusela@gp.gov.za` → `khusela.gp.gov.za` (the issuing element's identifier)."""
    local, _, domain = sender.partition("@")
    return f"{local}.{domain}" if domain else local


def ref(component_id: str) -> dict[str, str]:
    return {"$ref": component_id}


def build(view: ExportView, element_id: str) -> dict[str, Any]:
    """The EIDO-style document for the alert's current state."""
    alert = view.alert
    updated = timestamp(alert["updated_at"])
    location_id = f"location-{alert['id']}"
    document: dict[str, Any] = {
        "$id": f"urn:khusela:eido:{alert['id']}:{alert['version']}",
        "khuselaProfile": PROFILE,
        "lastUpdateTimestamp": updated,
        "issuingElementIdentification": element_id,
        "incidentComponent": _incident(view, element_id, location_id),
        "locationComponent": [_location(alert, location_id, element_id)],
    }
    if view.agencies:
        document["agencyComponent"] = [_agency(a, alert, updated) for a in view.agencies]
    if view.responders:
        document["dispatchComponent"] = _dispatches(view.responders, updated)
        document["emergencyResourceComponent"] = [_resource(r) for r in view.responders]
    return document


def _incident(view: ExportView, element_id: str, location_id: str) -> dict[str, Any]:
    alert = view.alert
    incident: dict[str, Any] = {
        "$id": f"incident-{alert['id']}",
        "lastUpdateTimestamp": timestamp(alert["updated_at"]),
        "incidentTrackingIdentifier": f"urn:emergency:uid:incidentid:{alert['id']}:{element_id}",
        "internalIncidentId": str(alert["id"]),
        "incidentTypeInternalCode": str(alert["type"]),
        "incidentTypeInternalText": EVENTS[AlertType(alert["type"])],
        "incidentStatusInternalText": [str(alert["status"])],
        "incidentPriorityInternalText": f"P{alert['priority']}",
        "incidentCommonPriorityNumber": COMMON_PRIORITY.get(int(alert["priority"]), 0),
        "locationReference": [ref(location_id)],
    }
    if alert.get("assigned_agency_id"):
        incident["updatedByAgencyReference"] = ref(f"agency-{alert['assigned_agency_id']}")
    dispositions = _dispositions(view)
    if dispositions:
        incident["dispositionComponent"] = dispositions
    return incident


def _dispositions(view: ExportView) -> list[dict[str, Any]]:
    alert = view.alert
    found: list[dict[str, Any]] = []
    for r in view.responders:
        if r.outcome and r.cleared_at is not None:
            found.append(
                {
                    "$id": f"disposition-{r.assignment_id}",
                    "lastUpdateTimestamp": timestamp(r.cleared_at),
                    "updatedByAgencyReference": ref(f"agency-{r.agency_id}"),
                    "dispositionCategoryText": r.outcome,
                    "dispositionPrimaryIndicator": False,
                }
            )
    if alert.get("outcome"):
        entry: dict[str, Any] = {
            "$id": f"disposition-{alert['id']}",
            "lastUpdateTimestamp": timestamp(alert.get("closed_at") or alert["updated_at"]),
            "dispositionCategoryText": str(alert["outcome"]),
            "dispositionPrimaryIndicator": True,
        }
        if alert.get("assigned_agency_id"):
            entry["updatedByAgencyReference"] = ref(f"agency-{alert['assigned_agency_id']}")
        found.append(entry)
    return found


def _located(alert: dict[str, Any]) -> bool:
    return not alert["location_unknown"] and alert["lat"] is not None and alert["lon"] is not None


def _location(alert: dict[str, Any], location_id: str, element_id: str) -> dict[str, Any]:
    at = alert.get("location_at") or alert["updated_at"]
    component: dict[str, Any] = {"$id": location_id, "lastUpdateTimestamp": timestamp(at)}
    if _located(alert):
        component["locationByValue"] = pidf_lo(alert, element_id)
        component["khuselaPosition"] = {
            "type": "Point",
            "coordinates": [round(alert["lon"], 6), round(alert["lat"], 6)],
            "uncertaintyMeters": alert.get("accuracy_m"),
            "source": alert["location_source"],
        }
    typed = (alert.get("location_text") or "").strip()
    if typed:
        component["locationDescriptionText"] = typed
    elif not _located(alert):
        component["locationDescriptionText"] = "Location unknown"
    return component


def pidf_lo(alert: dict[str, Any], element_id: str) -> str:
    """A minimal PIDF-LO presence document (RFC 4119/5491): a circle around the last fix
    (a point when no accuracy was reported); retransmission is not allowed."""
    nsmap = {None: PIDF, "gp": GEOPRIV, "gbp": BASIC_POLICY, "gml": GML, "gs": GS}
    entity = f"pres:{alert['id']}@{element_id}"
    # A default namespace is keyed None in lxml; lxml-stubs 0.5 types the keys as str only.
    presence = etree.Element(f"{{{PIDF}}}presence", nsmap=nsmap, entity=entity)  # type: ignore[arg-type]
    tup = etree.SubElement(presence, f"{{{PIDF}}}tuple", id="fix")
    geopriv = etree.SubElement(etree.SubElement(tup, f"{{{PIDF}}}status"), f"{{{GEOPRIV}}}geopriv")
    info = etree.SubElement(geopriv, f"{{{GEOPRIV}}}location-info")
    position = f"{alert['lat']:.6f} {alert['lon']:.6f}"
    accuracy = alert.get("accuracy_m")
    if accuracy:
        shape = etree.SubElement(info, f"{{{GS}}}Circle", srsName=WGS84)
        etree.SubElement(shape, f"{{{GML}}}pos").text = position
        etree.SubElement(shape, f"{{{GS}}}radius", uom=METRE).text = f"{accuracy:.0f}"
    else:
        shape = etree.SubElement(info, f"{{{GML}}}Point", srsName=WGS84)
        etree.SubElement(shape, f"{{{GML}}}pos").text = position
    rules = etree.SubElement(geopriv, f"{{{GEOPRIV}}}usage-rules")
    etree.SubElement(rules, f"{{{BASIC_POLICY}}}retransmission-allowed").text = "false"
    method = _METHODS.get(alert["location_source"])
    if method:
        etree.SubElement(geopriv, f"{{{GEOPRIV}}}method").text = method
    at = alert.get("location_at") or alert["updated_at"]
    etree.SubElement(tup, f"{{{PIDF}}}timestamp").text = timestamp(at)
    return str(etree.tostring(presence, encoding="unicode"))


def _agency(agency: AgencyInfo, alert: dict[str, Any], updated: str) -> dict[str, Any]:
    return {
        "$id": f"agency-{agency.id}",
        "lastUpdateTimestamp": updated,
        "agencyType": [RESPONDER_URNS.get(agency.type, f"urn:khusela:agency-type:{agency.type}")],
        "incidentOwningAgencyIndicator": agency.id == alert.get("assigned_agency_id"),
        "agencyJcard": [
            "vcard",
            [["version", {}, "text", "4.0"], ["kind", {}, "text", "org"], ["fn", {}, "text", agency.name]],
        ],
    }


def _dispatches(responders: tuple[Responder, ...], updated: str) -> list[dict[str, Any]]:
    by_agency: dict[str, list[Responder]] = defaultdict(list)
    for r in responders:
        by_agency[r.agency_id].append(r)
    return [
        {
            "$id": f"dispatch-{agency_id}",
            "lastUpdateTimestamp": updated,
            "agencyReference": ref(f"agency-{agency_id}"),
            "emergencyResourceReference": [ref(f"resource-{r.assignment_id}") for r in group],
        }
        for agency_id, group in by_agency.items()
    ]


def _resource(r: Responder) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "$id": f"resource-{r.assignment_id}",
        "updatedByAgencyReference": ref(f"agency-{r.agency_id}"),
        "emergencyResourceName": r.callsign,
        "emergencyResourceTypeInternalText": r.kind,
        "unitStatusInternal": [r.status],
    }
    if r.eta_seconds is not None and r.on_scene_at is None and r.cleared_at is None:
        resource["eta"] = timestamp(as_utc(r.assigned_at) + timedelta(seconds=r.eta_seconds))
    return resource
