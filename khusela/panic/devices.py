"""Panic devices (wall buttons, pendants, vehicle trackers) registered to a resident or a site.

A device's id is the one level of its MQTT topic (`khusela/devices/{id}/panic`), so it may
hold no `/`, `+` or `#`. A device belongs to a resident (their alerts carry the resident's
profile) or to a named site (a school, a clinic, a spaza shop), or both; a site may have a
registered position, used when a press arrives without a usable fix. Registering and
listing are administrators' work and are audited: the list says which residents carry a
panic button and where sites are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from khusela.audit import log as audit
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import Forbidden, InvalidInput
from khusela.identity.model import Principal, Role
from khusela.identity.policy import Action, can
from khusela.identity.tables import user_roles, users
from khusela.panic.model import plausible
from khusela.panic.tables import devices
from khusela.store.unique import insert_unique

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MANAGE = Action.UNIT_MANAGE
"""Devices are managed like units: by administrators."""


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    owner_user_id: str | None
    site_name: str | None
    site_lat: float | None
    site_lon: float | None
    registered_at: datetime
    last_seen_at: datetime | None
    battery: float | None


def register_device(
    conn: Connection,
    actor: Principal,
    *,
    device_id: str,
    owner_user_id: str | None = None,
    site_name: str | None = None,
    site_lat: float | None = None,
    site_lon: float | None = None,
    clock: Clock | None = None,
) -> Device:
    if not can(actor, MANAGE):
        raise Forbidden("your roles do not allow registering panic devices")
    if not DEVICE_ID.match(device_id):
        raise InvalidInput("device id: 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
    site_name = " ".join((site_name or "").split()) or None
    if owner_user_id is None and site_name is None:
        raise InvalidInput("a device belongs to a resident (owner_user_id) or a site (site_name)")
    if (site_lat is None) != (site_lon is None):
        raise InvalidInput("give both site_lat and site_lon, or neither")
    if site_lat is not None and not plausible(site_lat, site_lon):
        raise InvalidInput("the site position is not a real place")
    if owner_user_id is not None and not _is_resident(conn, owner_user_id):
        raise InvalidInput("the owner must be an active resident")
    device = Device(
        device_id, owner_user_id, site_name, site_lat, site_lon, (clock or SystemClock()).now(), None, None
    )
    insert_unique(
        conn,
        insert(devices).values(
            id=device.id,
            owner_user_id=owner_user_id,
            site_name=site_name,
            site_lat=site_lat,
            site_lon=site_lon,
            registered_at=device.registered_at,
        ),
        f"device {device_id} is already registered",
    )
    audit.record(
        conn,
        actor.username,
        "device.register",
        "device",
        device_id,
        {"owner_user_id": owner_user_id, "site": site_name is not None},
    )
    return device


def list_devices(conn: Connection, viewer: Principal) -> list[Device]:
    """Every device (audited: the list links residents to panic buttons)."""
    if not can(viewer, MANAGE):
        raise Forbidden("your roles do not allow reading panic devices")
    found = [_device(row) for row in conn.execute(select(devices).order_by(devices.c.id))]
    audit.record(conn, viewer.username, "device.list", "device", "*", {"count": len(found)})
    return found


def find_device(conn: Connection, device_id: str) -> Device | None:
    """The device for a press (no policy check: the caller is the device channel itself)."""
    row = conn.execute(select(devices).where(devices.c.id == device_id)).first()
    return None if row is None else _device(row)


def device_seen(conn: Connection, device_id: str, at: datetime, battery: float | None) -> None:
    """Record that the device spoke, and its battery level when it reported a sane one."""
    values: dict[str, object] = {"last_seen_at": at}
    if battery is not None and 0.0 <= battery <= 100.0:
        values["battery"] = battery
    conn.execute(update(devices).where(devices.c.id == device_id).values(**values))


def _is_resident(conn: Connection, user_id: str) -> bool:
    found = conn.execute(
        select(users.c.id)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(users.c.id == user_id, users.c.is_active, user_roles.c.role == Role.RESIDENT.value)
    ).first()
    return found is not None


def _device(row: Row[Any]) -> Device:
    r = row._mapping
    return Device(
        r["id"],
        r["owner_user_id"],
        r["site_name"],
        r["site_lat"],
        r["site_lon"],
        r["registered_at"],
        r["last_seen_at"],
        r["battery"],
    )
