"""Seed a plausible Gauteng deployment: agencies, one user per role, and response units.

Idempotent: a data dir that already holds the Provincial Command Centre is left as it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from khusela.core.gazetteer import BundledGazetteer
from khusela.core.ids import new_id
from khusela.core.sealed import Sealer, SealError, from_settings
from khusela.demo.geodata import Province, gauteng
from khusela.demo.risk import seed_risk
from khusela.demo.soc import seed_soc
from khusela.identity import directory, totp
from khusela.identity.model import SYSTEM, AgencyType, Clearance, Jurisdiction, Role
from khusela.identity.tables import agencies, users
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertStatus, AlertType, Channel, UnitKind
from khusela.panic.profile import TrustedContact, set_profile
from khusela.panic.tables import alerts
from khusela.panic.units import register_unit

COMMAND_CENTRE = "Gauteng Provincial Command Centre"
DEMO_PIN, DEMO_DURESS_PIN = "1234", "9876"
DEMO_PASSWORD = "khusela-demo-2026"  # noqa: S105 - printed for the demo on purpose


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    role: Role
    agency: str
    totp_secret: str | None
    phone: str | None = None


# (username, role, agency name, clearance)
_PEOPLE: tuple[tuple[str, Role, str, Clearance], ...] = (
    ("operator", Role.OPERATOR, COMMAND_CENTRE, Clearance.RESTRICTED),
    ("responder", Role.RESPONDER, "SAPS Hillbrow", Clearance.RESTRICTED),
    ("soc", Role.SOC_ANALYST, "Gauteng Cybersecurity Command Centre", Clearance.CONFIDENTIAL),
    ("intel", Role.INTEL_ANALYST, "State Security Agency — Gauteng", Clearance.SECRET),
    (
        "mayor",
        Role.MUNICIPAL_OFFICIAL,
        "City of Johannesburg Metropolitan Municipality",
        Clearance.RESTRICTED,
    ),
    ("cpf", Role.COMMUNITY_PARTNER, "Hillbrow Community Police Forum", Clearance.UNCLASSIFIED),
    ("oversight", Role.OVERSIGHT, "Gauteng Department of Community Safety", Clearance.CONFIDENTIAL),
    ("admin", Role.ADMIN, COMMAND_CENTRE, Clearance.RESTRICTED),
)
RESIDENT_PHONE = "+27820000001"


def is_seeded(conn: Connection) -> bool:
    return conn.execute(select(agencies.c.id).where(agencies.c.name == COMMAND_CENTRE)).first() is not None


def seed(conn: Connection, province: Province | None = None) -> None:
    """Create the demo deployment in the caller's transaction."""
    gp = province or gauteng()
    whole = Jurisdiction(provinces=frozenset({gp.code}))
    ids: dict[str, str] = {}

    def agency(name: str, type: AgencyType, where: Jurisdiction) -> str:
        ids[name] = directory.create_agency(conn, SYSTEM, name, type, where).id
        return ids[name]

    agency(COMMAND_CENTRE, AgencyType.PROVINCIAL_DEPARTMENT, whole)
    agency("Gauteng Department of Community Safety", AgencyType.PROVINCIAL_DEPARTMENT, whole)
    agency("Gauteng Cybersecurity Command Centre", AgencyType.PROVINCIAL_DEPARTMENT, whole)
    agency("State Security Agency — Gauteng", AgencyType.SSA, whole)
    agency("Gauteng Emergency Medical Services", AgencyType.EMS, whole)
    for m in gp.municipalities:
        agency(m.name, AgencyType.MUNICIPALITY, Jurisdiction(municipalities=gp.locals_of(m.code)))
    for name, code in (
        ("Johannesburg Metropolitan Police Department", "JHB"),
        ("Tshwane Metropolitan Police Department", "TSH"),
        ("Ekurhuleni Metropolitan Police Department", "EKU"),
    ):
        agency(name, AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({code})))
    for station in gp.stations:
        agency(f"SAPS {station.name}", AgencyType.SAPS_STATION, Jurisdiction(cells=station.precinct))
    hillbrow = next(s for s in gp.stations if s.name == "Hillbrow")
    jeppe = next(s for s in gp.stations if s.name == "Jeppe")
    agency(
        "Hillbrow Community Police Forum",
        AgencyType.CPF,
        Jurisdiction(cells=hillbrow.precinct | jeppe.precinct),
    )
    agency(
        "Yeoville Bellevue Neighbourhood Watch",
        AgencyType.NEIGHBOURHOOD_WATCH,
        Jurisdiction(cells=hillbrow.precinct),
    )
    agency(
        "Highveld Armed Response (demo)",
        AgencyType.PRIVATE_SECURITY,
        Jurisdiction(municipalities=frozenset({"JHB"})),
    )

    for username, role, agency_name, clearance in _PEOPLE:
        directory.create_user(
            conn,
            SYSTEM,
            username=username,
            roles=[role],
            password=DEMO_PASSWORD,
            display_name=f"Demo {role.value.replace('_', ' ')}",
            agency_id=ids[agency_name],
            clearance=clearance,
        )
    directory.create_user(
        conn,
        SYSTEM,
        username="resident",
        roles=[Role.RESIDENT],
        phone=RESIDENT_PHONE,
        display_name="Demo resident",
    )
    _seed_units(conn, gp, ids)
    _seed_cameras(conn, gp, ids)
    _seed_history(conn, gp, ids)
    _seed_residents_and_alerts(conn)
    seed_soc(conn)
    seed_risk(conn, gp, datetime.now(UTC))


# A few open alerts at real places, so the console has something to show on first start.
_DEMO_ALERTS: tuple[tuple[str, str, AlertType, float, float, bool], ...] = (
    ("+27820000002", "Demo resident Hillbrow", AlertType.CRIME, -26.1885, 28.0470, False),
    ("+27820000003", "Demo resident Soweto", AlertType.MEDICAL, -26.2485, 27.8540, False),
    ("+27820000004", "Demo resident Mamelodi", AlertType.GBV, -25.7096, 28.3610, True),
    ("+27820000005", "Demo resident Vereeniging", AlertType.ACCIDENT, -26.6731, 27.9261, False),
)


def _seed_residents_and_alerts(conn: Connection) -> None:
    resident = directory.load_principal(conn, _user_id(conn, "resident"))
    assert resident is not None
    set_profile(
        conn,
        resident,
        now=datetime.now(UTC),
        pin=DEMO_PIN,
        duress_pin=DEMO_DURESS_PIN,
        contacts=[TrustedContact("Demo contact", "+27820000099")],
    )
    gazetteer = BundledGazetteer()
    for n, (phone, name, kind, lat, lon, silent) in enumerate(_DEMO_ALERTS, start=2):
        person = directory.create_user(
            conn, SYSTEM, username=f"resident{n}", roles=[Role.RESIDENT], phone=phone, display_name=name
        ).user
        raise_alert(
            conn,
            RaisePanicAlert(
                type=kind,
                channel=Channel.APP,
                sender=person.user_id,
                resident_id=person.user_id,
                client_alert_id="demo",
                lat=lat,
                lon=lon,
                accuracy_m=15.0,
                silent=silent,
            ),
            gazetteer,
        )


HISTORY_DAYS, HISTORY_ALERTS = 7, 420
_HISTORY_TYPES = (
    (AlertType.CRIME,) * 5 + (AlertType.MEDICAL,) * 3 + (AlertType.GBV, AlertType.ACCIDENT, AlertType.FIRE)
)


def _seed_history(conn: Connection, gp: Province, ids: dict[str, str]) -> None:
    """A week of closed alerts, so the KPI charts have something to show. Synthetic and
    written directly (no events, no notices): these alerts never happened."""
    rng = random.Random(7)  # noqa: S311 - demo history, not security
    now = datetime.now(UTC)
    gazetteer = BundledGazetteer()
    rows = []
    for _ in range(HISTORY_ALERTS):
        station = rng.choice(gp.stations)
        lat, lon = station.lat + rng.uniform(-0.02, 0.02), station.lon + rng.uniform(-0.02, 0.02)
        place = gazetteer.locate(lat, lon)
        # busier in the evening: draw the hour from a skewed distribution
        created = now - timedelta(days=rng.uniform(0.05, HISTORY_DAYS))
        created = created.replace(hour=min(23, max(0, int(rng.gauss(19, 4)))))
        if created > now - timedelta(hours=1):
            created -= timedelta(days=1)
        acknowledged = created + timedelta(seconds=rng.lognormvariate(2.3, 0.6))
        dispatched = acknowledged + timedelta(seconds=rng.lognormvariate(4.0, 0.6))
        on_scene = dispatched + timedelta(seconds=rng.lognormvariate(6.4, 0.5))
        closed = on_scene + timedelta(minutes=rng.uniform(10, 60))
        rows.append(
            {
                "id": new_id(),
                "channel": rng.choice((Channel.APP, Channel.APP, Channel.USSD, Channel.SMS)).value,
                "type": rng.choice(_HISTORY_TYPES).value,
                "status": AlertStatus.RESOLVED.value,
                "priority": rng.choice((1, 2, 2, 3, 3, 4)),
                "silent": False,
                "duress": False,
                "presses": 1,
                "location_unknown": False,
                "outside_coverage": not place.covered,
                "lat": lat,
                "lon": lon,
                "accuracy_m": rng.uniform(5, 40),
                "location_source": "gps",
                "location_at": created,
                "province": place.province,
                "municipality": place.municipality,
                "cell": place.cell,
                "outcome": rng.choice(("attended",) * 6 + ("false_alarm", "no_contact")),
                "created_at": created,
                "acknowledged_at": acknowledged,
                "dispatched_at": dispatched,
                "on_scene_at": on_scene,
                "closed_at": closed,
                "updated_at": closed,
                "assigned_agency_id": ids[f"SAPS {station.name}"],
                "version": 5,
            }
        )
    conn.execute(insert(alerts), rows)


_CAMERA_OWNERS = (
    ("City of Johannesburg Metropolitan Municipality", "JHB", "JHB-CAM"),
    ("City of Tshwane Metropolitan Municipality", "TSH", "TSH-CAM"),
    ("City of Ekurhuleni Metropolitan Municipality", "EKU", "EKU-CAM"),
    ("Highveld Armed Response (demo)", "JHB", "HAR-CAM"),
)


def _seed_cameras(conn: Connection, gp: Province, ids: dict[str, str]) -> None:
    """Public-space cameras around the metros' police stations. Their stream addresses are
    placeholders on a private network, so with camera workers on they report offline."""
    from khusela.cctv.cameras import CameraSpec, register

    rng = random.Random(11)  # noqa: S311 - demo placement, not security
    gazetteer = BundledGazetteer()
    admin = directory.load_principal(conn, _user_id(conn, "admin"))
    assert admin is not None
    for owner, municipality, prefix in _CAMERA_OWNERS:
        stations = [s for s in gp.stations if s.municipality_code == municipality]
        for n, station in enumerate(rng.sample(stations, min(12, len(stations))), start=1):
            spec = CameraSpec(
                owner_agency_id=ids[owner],
                name=f"{station.name} {rng.choice(('taxi rank', 'main road', 'station', 'mall', 'park'))}",
                external_ref=f"{prefix}-{n:03d}",
                lat=station.lat + rng.uniform(-0.004, 0.004),
                lon=station.lon + rng.uniform(-0.004, 0.004),
                bearing_deg=float(rng.randrange(360)),
                fov_deg=70.0,
                main_stream_url=f"rtsp://10.20.{len(prefix)}.{n}:554/main",
                sub_stream_url=f"rtsp://10.20.{len(prefix)}.{n}:554/sub",
            )
            register(conn, admin, spec, gazetteer)


def _user_id(conn: Connection, username: str) -> str:
    return str(conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one())


def _seed_units(conn: Connection, gp: Province, ids: dict[str, str]) -> None:
    rng = random.Random(2026)  # noqa: S311 - demo placement, not security
    for station in gp.stations:
        for n in (1, 2):
            lat, lon = (
                station.lat + rng.uniform(-0.01, 0.01),
                station.lon + rng.uniform(-0.01, 0.01),
            )
            register_unit(
                conn,
                SYSTEM,
                agency_id=ids[f"SAPS {station.name}"],
                callsign=f"{station.name.replace(' ', '')[:30]}-{n}",
                kind=UnitKind.POLICE_VEHICLE,
                lat=lat,
                lon=lon,
                province=gp.code,
                municipality=station.municipality_code,
            )
    fleets = (
        (
            "Johannesburg Metropolitan Police Department",
            "JMPD",
            "JHB",
            UnitKind.METRO_POLICE_VEHICLE,
            8,
        ),
        ("Tshwane Metropolitan Police Department", "TMPD", "TSH", UnitKind.METRO_POLICE_VEHICLE, 6),
        (
            "Ekurhuleni Metropolitan Police Department",
            "EMPD",
            "EKU",
            UnitKind.METRO_POLICE_VEHICLE,
            6,
        ),
        ("Gauteng Emergency Medical Services", "EMS", None, UnitKind.AMBULANCE, 12),
        ("Highveld Armed Response (demo)", "HAR", "JHB", UnitKind.SECURITY_VEHICLE, 6),
    )
    for agency_name, prefix, muni, kind, count in fleets:
        area = [m for m in gp.municipalities if m.kind != "district" and (muni is None or m.code == muni)]
        for n in range(1, count + 1):
            m = area[n % len(area)]
            lat, lon = (
                m.centroid[0] + rng.uniform(-0.05, 0.05),
                m.centroid[1] + rng.uniform(-0.05, 0.05),
            )
            register_unit(
                conn,
                SYSTEM,
                agency_id=ids[agency_name],
                callsign=f"{prefix}-{n:02d}",
                kind=kind,
                lat=lat,
                lon=lon,
                province=gp.code,
                municipality=m.code,
            )


def demo_logins(conn: Connection, sealer: Sealer | None = None) -> list[DemoLogin]:
    """The seeded people, with what they need to sign in (read back, and TOTP secrets
    opened with `sealer` — by default under the process's settings — for printing)."""
    opener = sealer or from_settings(totp.SEALED)
    rows = conn.execute(
        select(users.c.id, users.c.username, users.c.totp_secret, users.c.phone, agencies.c.name)
        .outerjoin(agencies, agencies.c.id == users.c.agency_id)
        .where(users.c.username.in_([p[0] for p in _PEOPLE] + ["resident"]))
    ).all()
    by_name = {r.username: r for r in rows}
    logins = [
        DemoLogin(username, role, agency_name, _opened(opener, by_name[username]))
        for username, role, agency_name, _ in _PEOPLE
        if username in by_name
    ]
    if "resident" in by_name:
        logins.append(DemoLogin("resident", Role.RESIDENT, "—", None, RESIDENT_PHONE))
    return logins


def _opened(opener: Sealer, row: Any) -> str | None:
    if not row.totp_secret:
        return None
    try:
        return opener.open(row.totp_secret, row.id)
    except SealError:
        raise ValueError(
            "the demo's TOTP secrets were sealed under another KHUSELA_SECRET_KEY; "
            "use that key or start from an empty data dir"
        ) from None
