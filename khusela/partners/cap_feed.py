"""Community alerts as CAP 1.2 messages and as an Atom feed of them.

Unlike a panic alert (scope Restricted: it locates a person in danger), a community warning
is meant for everyone in the area: scope Public. Each state is its own message, identified
``<alert id>.<version>``; a cancellation is msgType Cancel referring to the first message.
The area is the municipality and the H3 cells (geocodes), with up to `MAX_POLYGONS` cell
outlines as CAP polygons for receivers that only understand shapes. Every message is checked
against the CAP 1.2 schema the panic module ships (`panic.exchange.cap`) before it leaves.

The feed is Atom (RFC 4287) with each CAP message inline as the entry's content, the
arrangement alert hubs such as the WMO register of alerting authorities expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import h3
from lxml import etree

from khusela.panic.exchange import cap

ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_POLYGONS = 50


def _add(parent: etree._Element, tag: str, text: str | None = None, ns: str = cap.CAP_NS) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    element = _add(parent, tag)
    _add(element, "valueName", name)
    _add(element, "value", value)


def polygon(cell: str) -> str:
    """A cell's outline as a closed CAP polygon (``lat,lon`` pairs)."""
    ring = list(h3.cell_to_boundary(cell))
    ring.append(ring[0])
    return " ".join(f"{lat:.5f},{lon:.5f}" for lat, lon in ring)


def sender_of(alert: dict[str, Any]) -> str:
    return cap.default_sender(alert.get("province"))


def build(alert: dict[str, Any], sender: str) -> etree._Element:
    root = etree.Element(f"{{{cap.CAP_NS}}}alert", nsmap={None: cap.CAP_NS})  # type: ignore[dict-item]
    cancelled = alert["status"] == "cancelled"
    kind = "Cancel" if cancelled else ("Alert" if alert["version"] == 1 else "Update")
    _add(root, "identifier", f"{alert['id']}.{alert['version']}")
    _add(root, "sender", sender)
    _add(root, "sent", cap.cap_time(alert["updated_at"]))
    _add(root, "status", "Actual")
    _add(root, "msgType", kind)
    _add(root, "scope", "Public")
    if kind != "Alert":
        _add(root, "references", f"{sender},{alert['id']}.1,{cap.cap_time(alert['sent_at'])}")
    _add(root, "incidents", str(alert["id"]))
    info = _add(root, "info")
    _add(info, "language", "en-ZA")
    _add(info, "category", alert["category"])
    _add(info, "event", "Community safety warning")
    _add(info, "responseType", "AllClear" if cancelled else "Monitor")
    _add(info, "urgency", "Past" if cancelled else alert["urgency"])
    _add(info, "severity", alert["severity"])
    _add(info, "certainty", "Likely")
    _add(info, "effective", cap.cap_time(alert["sent_at"]))
    _add(info, "expires", cap.cap_time(alert["expires_at"]))
    _add(info, "senderName", f"Khusela community alerts ({alert.get('province') or 'ZA'})")
    _add(info, "headline", alert["headline"][:160])
    _add(info, "description", alert["description"])
    if alert.get("instruction"):
        _add(info, "instruction", alert["instruction"])
    area = _add(info, "area")
    _add(area, "areaDesc", alert["area_desc"])
    for cell in alert["cells"][:MAX_POLYGONS]:
        _add(area, "polygon", polygon(cell))
    if alert.get("province") in cap.SA_PROVINCES:
        _pair(area, "geocode", "ISO3166-2", f"ZA-{alert['province']}")
    if alert.get("municipality"):
        _pair(area, "geocode", "ZA-MDB", str(alert["municipality"]))
    for cell in alert["cells"]:
        _pair(area, "geocode", "H3", cell)
    return root


def checked(alert: dict[str, Any]) -> etree._Element:
    document = build(alert, sender_of(alert))
    problems = cap.errors(document)
    if problems:
        raise cap.InvalidCap(problems)
    return document


def render(alert: dict[str, Any]) -> bytes:
    """One alert as a CAP 1.2 document; raises `InvalidCap` rather than let a bad one out."""
    return bytes(etree.tostring(checked(alert), xml_declaration=True, encoding="UTF-8", pretty_print=True))


def feed(alerts: Sequence[dict[str, Any]], self_url: str, now: datetime) -> bytes:
    """An Atom feed with one entry per alert, newest first, each carrying its CAP message."""
    root = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})  # type: ignore[dict-item]
    _add(root, "id", self_url, ATOM_NS)
    _add(root, "title", "Khusela community safety alerts", ATOM_NS)
    _add(root, "updated", cap.cap_time(max((a["updated_at"] for a in alerts), default=now)), ATOM_NS)
    author = _add(root, "author", None, ATOM_NS)
    _add(author, "name", "Khusela", ATOM_NS)
    link = _add(root, "link", None, ATOM_NS)
    link.set("rel", "self")
    link.set("href", self_url)
    for alert in alerts:
        entry = _add(root, "entry", None, ATOM_NS)
        _add(entry, "id", f"urn:khusela:community-alert:{alert['id']}.{alert['version']}", ATOM_NS)
        _add(entry, "title", alert["headline"], ATOM_NS)
        _add(entry, "updated", cap.cap_time(alert["updated_at"]), ATOM_NS)
        _add(entry, "summary", alert["area_desc"], ATOM_NS)
        alternate = _add(entry, "link", None, ATOM_NS)
        alternate.set("rel", "alternate")
        alternate.set("type", "application/cap+xml")
        alternate.set("href", self_url.rsplit("/", 1)[0] + f"/community-alerts/{alert['id']}.cap")
        content = _add(entry, "content", None, ATOM_NS)
        content.set("type", "application/cap+xml")
        content.append(checked(alert))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
