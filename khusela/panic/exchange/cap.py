"""A panic alert as an OASIS CAP 1.2 message, checked against the CAP 1.2 schema.

How an alert maps to CAP (every choice here is deliberate):

- `identifier` is `<alert id>.<version>`: every state of the alert is its own message (CAP
  asks that an identifier name one message), and re-exporting the same state gives the
  same message. `incidents` carries the bare alert id, so a receiver can collate them.
- `sent` is the time of that state (`updated_at`), in SAST (+02:00), whole seconds.
- `msgType`: `Alert` for the first state, `Cancel` once the resident cancelled, `Update`
  otherwise, with `references` naming the first message (`<alert id>.1`).
- `scope` is always `Restricted`: a panic alert carries the location of a person in
  danger, which is personal information (POPIA). Never `Public`.
- `info` category and event come from the alert type; urgency, severity and certainty from
  its priority (a closed alert is urgency `Past` and, when resolved, `AllClear`).
- `area` is a `circle` of the last fix and its accuracy, or only an `areaDesc` with the
  typed landmark or "Location unknown"; geocodes give the province (ISO 3166-2), the
  municipality (Municipal Demarcation Board code) and the H3 cell.
- The resident's note, phone number and identity are never read, so never included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any, cast

from lxml import etree

from khusela.core.clock import as_utc
from khusela.panic.model import AlertStatus, AlertType, LocationSource

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SAST = timezone(timedelta(hours=2), "SAST")
"""South African Standard Time: UTC+2 all year (no daylight saving)."""

RESTRICTION = (
    "Personal information of a person in danger (POPIA). For authorised emergency "
    "responders only: do not publish, broadcast or forward beyond them."
)

CATEGORIES: dict[AlertType, tuple[str, ...]] = {
    AlertType.CRIME: ("Security",),
    AlertType.GBV: ("Security",),
    AlertType.MEDICAL: ("Health",),
    AlertType.FIRE: ("Fire",),
    AlertType.ACCIDENT: ("Rescue",),
    AlertType.OTHER: ("Safety",),
}

EVENTS: dict[AlertType, str] = {
    AlertType.CRIME: "Panic alert: crime",
    AlertType.GBV: "Panic alert: gender-based violence",
    AlertType.MEDICAL: "Panic alert: medical emergency",
    AlertType.FIRE: "Panic alert: fire",
    AlertType.ACCIDENT: "Panic alert: accident",
    AlertType.OTHER: "Panic alert",
}

# Priority (P1 most urgent) → (urgency, severity, certainty). A press is a report by the
# person in danger, not something the sender observed: "Likely", then "Possible" for the
# lower priorities (which include residents flagged for false alarms).
ASSESSMENT: dict[int, tuple[str, str, str]] = {
    1: ("Immediate", "Extreme", "Likely"),
    2: ("Immediate", "Severe", "Likely"),
    3: ("Expected", "Moderate", "Possible"),
    4: ("Expected", "Minor", "Possible"),
}

SA_PROVINCES = frozenset({"EC", "FS", "GP", "KZN", "LP", "MP", "NC", "NW", "WC"})

_SOURCES = {
    LocationSource.GPS.value: "GPS",
    LocationSource.NETWORK.value: "the mobile network",
    LocationSource.DEVICE.value: "the registered site of a panic device",
}


class InvalidCap(Exception):
    """A CAP document broke the schema or a rule of the data dictionary."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def cap_time(value: datetime) -> str:
    """A CAP date-time: explicit offset (SAST), no fraction of a second."""
    return as_utc(value).astimezone(SAST).replace(microsecond=0).isoformat()


def default_sender(province: str | None) -> str:
    """`khusela@<province>.gov.za`, e.g. khusela@gp.gov.za, unless a sender is configured."""
    return f"khusela@{(province or 'za').lower()}.gov.za"


def identifier(alert: dict[str, Any]) -> str:
    return f"{alert['id']}.{alert['version']}"


def msg_type(alert: dict[str, Any]) -> str:
    if alert["status"] == AlertStatus.CANCELLED.value:
        return "Cancel"
    return "Alert" if alert["version"] == 1 else "Update"


def assessment(alert: dict[str, Any]) -> tuple[str, str, str]:
    """(urgency, severity, certainty) of the alert as it stands."""
    urgency, severity, certainty = ASSESSMENT[max(1, min(4, int(alert["priority"])))]
    if alert["status"] in (AlertStatus.RESOLVED.value, AlertStatus.CANCELLED.value):
        urgency = "Past"
    return urgency, severity, certainty


def circle(lat: float, lon: float, accuracy_m: float | None) -> str:
    """`lat,lon radius_km`; a fix without a reported accuracy is given as a point (radius 0)."""
    radius_km = max(0.0, accuracy_m or 0.0) / 1000
    return f"{lat:.5f},{lon:.5f} {radius_km:.3f}"


def area_description(alert: dict[str, Any]) -> str:
    where = ", ".join(p for p in (alert.get("municipality"), alert.get("province")) if p)
    if alert["location_unknown"] or alert["lat"] is None or alert["lon"] is None:
        typed = (alert.get("location_text") or "").strip()
        return f"Typed location: {typed}" if typed else "Location unknown"
    accuracy = alert.get("accuracy_m")
    how = _SOURCES.get(alert["location_source"], "an unknown source")
    precision = f"within {accuracy:.0f} m" if accuracy else "accuracy not reported"
    return f"Last fix from {how}, {precision}" + (f" ({where})" if where else "")


def geocodes(alert: dict[str, Any]) -> list[tuple[str, str]]:
    codes = []
    if alert.get("province") in SA_PROVINCES:
        codes.append(("ISO3166-2", f"ZA-{alert['province']}"))
    if alert.get("municipality"):
        codes.append(("ZA-MDB", str(alert["municipality"])))
    if alert.get("cell"):
        codes.append(("H3", str(alert["cell"])))
    return codes


def build(alert: dict[str, Any], sender: str) -> etree._Element:
    """The CAP `<alert>` element for the alert's current state (not yet validated)."""
    # A default namespace is keyed None in lxml; lxml-stubs 0.5 types the keys as str only.
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})  # type: ignore[dict-item]
    kind = msg_type(alert)
    _add(root, "identifier", identifier(alert))
    _add(root, "sender", sender)
    _add(root, "sent", cap_time(alert["updated_at"]))
    _add(root, "status", "Actual")
    _add(root, "msgType", kind)
    _add(root, "scope", "Restricted")
    _add(root, "restriction", RESTRICTION)
    if kind != "Alert":
        _add(root, "references", f"{sender},{alert['id']}.1,{cap_time(alert['created_at'])}")
    _add(root, "incidents", str(alert["id"]))
    _info(root, alert)
    return root


def _info(root: etree._Element, alert: dict[str, Any]) -> None:
    alert_type = AlertType(alert["type"])
    urgency, severity, certainty = assessment(alert)
    info = _add(root, "info")
    _add(info, "language", "en-ZA")
    for category in CATEGORIES[alert_type]:
        _add(info, "category", category)
    _add(info, "event", EVENTS[alert_type])
    if alert["status"] == AlertStatus.RESOLVED.value:
        _add(info, "responseType", "AllClear")
    _add(info, "urgency", urgency)
    _add(info, "severity", severity)
    _add(info, "certainty", certainty)
    _add(info, "senderName", f"Khusela panic service ({alert.get('province') or 'ZA'})")
    _add(info, "headline", f"P{alert['priority']} {EVENTS[alert_type].lower()} ({alert['status']})")
    _add(info, "description", _description(alert))
    instruction = _instruction(alert)
    if instruction:
        _add(info, "instruction", instruction)
    for name, value in _parameters(alert):
        _pair(info, "parameter", name, value)
    area = _add(info, "area")
    _add(area, "areaDesc", area_description(alert))
    if not alert["location_unknown"] and alert["lat"] is not None and alert["lon"] is not None:
        _add(area, "circle", circle(alert["lat"], alert["lon"], alert.get("accuracy_m")))
    for name, value in geocodes(alert):
        _pair(area, "geocode", name, value)


def _description(alert: dict[str, Any]) -> str:
    raised = as_utc(alert["created_at"]).astimezone(SAST).strftime("%Y-%m-%d %H:%M SAST")
    presses = alert["presses"]
    parts = [
        f"Raised through the {alert['channel']} channel at {raised}",
        f"{presses} press{'es' if presses != 1 else ''}",
        f"status {alert['status']}",
    ]
    if alert.get("outcome"):
        parts.append(f"outcome {alert['outcome']}")
    if alert.get("outside_coverage"):
        parts.append("the fix lies outside every mapped municipality")
    return "; ".join(parts) + "."


def _instruction(alert: dict[str, Any]) -> str | None:
    if alert.get("duress"):
        return (
            "The resident gave a duress PIN: treat any stand-down as coerced. "
            "Approach without sirens or lights; do not call the resident."
        )
    if alert.get("silent"):
        return "Silent alarm: approach without sirens or lights; do not call the resident."
    return None


def _parameters(alert: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("khuselaStatus", str(alert["status"])),
        ("khuselaPriority", f"P{alert['priority']}"),
        ("khuselaChannel", str(alert["channel"])),
        ("silentApproach", "true" if alert.get("silent") or alert.get("duress") else "false"),
        ("duress", "true" if alert.get("duress") else "false"),
        ("presses", str(alert["presses"])),
    ]


def _add(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    element = _add(parent, tag)
    _add(element, "valueName", name)
    _add(element, "value", value)


# ---------------------------------------------------------------- validation


@cache
def schema() -> etree.XMLSchema:
    """Our CAP 1.2 schema (`cap-1.2.xsd`, shipped with the package)."""
    source = resources.files("khusela.panic.exchange").joinpath("cap-1.2.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(source, parser=safe_parser()))


def safe_parser() -> etree.XMLParser:
    """A parser that resolves no entities and fetches nothing (for documents from outside)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(document: bytes) -> etree._Element:
    return etree.fromstring(document, parser=safe_parser())


def errors(document: etree._Element) -> list[str]:
    """Everything wrong with a CAP document: schema violations, then the dictionary's rules."""
    cap_schema = schema()
    if not cap_schema.validate(document):
        # lxml-stubs 0.5 declares the error log without its members; it iterates log entries.
        log = cast("Iterable[Any]", cap_schema.error_log)
        return [f"line {e.line}: {e.message}" for e in log]
    return rule_errors(document)


def rule_errors(document: etree._Element) -> list[str]:
    """The data dictionary's rules that XSD 1.0 cannot express."""
    ns = {"cap": CAP_NS}
    found: list[str] = []
    scope = document.findtext("cap:scope", namespaces=ns)
    if scope == "Restricted" and not (document.findtext("cap:restriction", namespaces=ns) or "").strip():
        found.append("<restriction> is required when <scope> is Restricted")
    if scope == "Private" and not (document.findtext("cap:addresses", namespaces=ns) or "").strip():
        found.append("<addresses> is required when <scope> is Private")
    if document.findtext("cap:msgType", namespaces=ns) in ("Update", "Cancel") and not (
        document.findtext("cap:references", namespaces=ns) or ""
    ):
        found.append("an Update or Cancel names the message(s) it refers to in <references>")
    shapes = document.findall(".//cap:area/cap:circle", ns) + document.findall(".//cap:area/cap:polygon", ns)
    for shape in shapes:
        found.extend(_coordinate_errors(shape.text or ""))
    return found


def _coordinate_errors(text: str) -> Iterable[str]:
    for pair in text.split():
        if "," not in pair:
            continue
        lat, lon = (float(v) for v in pair.split(","))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            yield f"coordinates {pair} lie outside WGS 84"


def render(alert: dict[str, Any], sender: str) -> bytes:
    """The alert as a CAP 1.2 document; raises `InvalidCap` rather than let a bad one out."""
    document = build(alert, sender)
    problems = errors(document)
    if problems:
        raise InvalidCap(problems)
    return bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True))
