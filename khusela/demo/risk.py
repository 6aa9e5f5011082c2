"""Demo risk data: Gauteng's localities, a few register entries per municipality, mine sites
at real disused-mine areas of the Witwatersrand, and a year of *synthetic* incidents (so the
hotspot and forecast layers have something to compute from).

The incidents are made up: clusters around SAPS station points with a weekly rhythm and a
few flare-ups near the mine sites. They show how the layers look, not where crime is."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert

from khusela.core.gazetteer import BundledGazetteer
from khusela.demo.geodata import Province
from khusela.identity.model import SYSTEM, Jurisdiction, Principal, Role
from khusela.risk import localities, mines, register
from khusela.risk.incident_log import Incident, row_of
from khusela.risk.mines import MineSpec, MineStatus
from khusela.risk.model import ActionStatus, Category, EntrySpec, EntryStatus, Mitigation
from khusela.risk.tables import risk_incidents

C = Category
# (municipality, category, title, likelihood, impact, owner, mitigation)
_ENTRIES: tuple[tuple[str, Category, str, int, int, str, str], ...] = (
    (
        "JHB",
        C.ILLEGAL_MINING,
        "Illegal mining at Riverlea and Zamimpilo shafts",
        5,
        4,
        "JMPD Public Safety",
        "Joint operation with SAPS and DMRE; seal the open shafts",
    ),
    (
        "JHB",
        C.INFRASTRUCTURE_THEFT,
        "Cable theft on the Soweto substations' feeders",
        4,
        4,
        "City Power Security",
        "Armed patrols and cable tags on the feeder routes",
    ),
    (
        "JHB",
        C.BYLAW_NON_ENFORCEMENT,
        "Hijacked buildings in the inner city",
        4,
        3,
        "JMPD By-law Enforcement",
        "Building inspections with the Housing department",
    ),
    (
        "TSH",
        C.VIOLENT_CRIME,
        "Robberies at Mamelodi taxi ranks after dark",
        4,
        3,
        "TMPD Operations",
        "Lighting and visible policing at the ranks",
    ),
    (
        "TSH",
        C.UNREST,
        "Service-delivery protests blocking the N4",
        3,
        4,
        "Tshwane Disaster Management",
        "Early engagement with ward committees",
    ),
    (
        "TSH",
        C.DRUG_TRAFFICKING,
        "Drug dens in abandoned buildings, Sunnyside",
        3,
        3,
        "TMPD Special Operations",
        "Close and board up the buildings",
    ),
    (
        "EKU",
        C.ILLEGAL_MINING,
        "Illegal mining at the old ERPM and Grootvlei shafts",
        4,
        4,
        "EMPD Public Safety",
        "Shaft rehabilitation with the mine's liquidators",
    ),
    (
        "EKU",
        C.GANG_ACTIVITY,
        "Gang violence in Reiger Park",
        3,
        4,
        "EMPD Crime Prevention",
        "Youth programmes with the CPF",
    ),
    (
        "EKU",
        C.EXTORTION,
        "Construction-site extortion ('business forums')",
        4,
        3,
        "Ekurhuleni Economic Development",
        "Project security and a reporting line",
    ),
    (
        "GT421",
        C.INFRASTRUCTURE_THEFT,
        "Theft of water-pump cables, Sebokeng",
        4,
        3,
        "Emfuleni Water Services",
        "Pump-station alarms",
    ),
    (
        "GT421",
        C.GENDER_BASED_VIOLENCE,
        "Gender-based violence near unlit paths",
        3,
        5,
        "Emfuleni Community Safety",
        "Light the paths; Thuthuzela referrals",
    ),
    (
        "GT422",
        C.OTHER,
        "Stock theft on farms along the R59",
        3,
        2,
        "Midvaal Community Safety",
        "Rural safety forum with farm watch",
    ),
    (
        "GT423",
        C.BYLAW_NON_ENFORCEMENT,
        "Illegal dumping along the Heidelberg road",
        4,
        2,
        "Lesedi Environmental Services",
        "Cameras at the dumping points",
    ),
    (
        "GT481",
        C.ILLEGAL_MINING,
        "Illegal mining near the West Rand Consolidated site",
        4,
        4,
        "Mogale City Public Safety",
        "Sealing programme with DMRE",
    ),
    (
        "GT484",
        C.ILLEGAL_MINING,
        "Zama-zama activity around the Blyvooruitzicht shafts",
        5,
        4,
        "Merafong Public Safety",
        "Joint operation and shaft closures",
    ),
    (
        "GT485",
        C.INFRASTRUCTURE_THEFT,
        "Railway cable theft near Randfontein",
        3,
        3,
        "Rand West City Public Safety",
        "Patrols with PRASA security",
    ),
)

# Real disused and derelict mine areas of the Witwatersrand (approximate centres).
_MINES: tuple[tuple[str, float, float, MineStatus, int], ...] = (
    ("Durban Roodepoort Deep (Roodepoort)", -26.1745, 27.8555, MineStatus.DERELICT, 420),
    ("Riverlea / Zamimpilo old workings", -26.2135, 27.9740, MineStatus.ILLEGALLY_WORKED, 60),
    ("Crown Mines (Langlaagte)", -26.2230, 27.9985, MineStatus.DISUSED, 300),
    ("Robinson Deep (Turffontein)", -26.2330, 28.0330, MineStatus.DISUSED, 700),
    ("East Rand Proprietary Mines (Boksburg)", -26.2130, 28.2420, MineStatus.ILLEGALLY_WORKED, 120),
    ("Grootvlei shafts (Springs)", -26.2460, 28.4830, MineStatus.DERELICT, 900),
    ("West Rand Consolidated (Krugersdorp)", -26.1070, 27.7380, MineStatus.DERELICT, 500),
    ("Randfontein Estates (Randfontein)", -26.1650, 27.7030, MineStatus.SEALED, 200),
    ("Blyvooruitzicht (Carletonville)", -26.3990, 27.4060, MineStatus.ILLEGALLY_WORKED, 45),
)

INCIDENT_CATEGORIES = ("burglary", "robbery", "assault", "theft from vehicle", "cable theft")


def seed_risk(conn: Connection, gp: Province, now: datetime) -> None:
    """Localities, register entries, mine sites and synthetic incidents, in the caller's
    transaction (as the platform: SYSTEM administers the demo)."""
    localities.load_bundled(conn, gp)
    today = now.date()
    for n, (code, category, title, likelihood, impact, owner, action) in enumerate(_ENTRIES):
        spec = EntrySpec(
            locality_code=code,
            category=category,
            title=title,
            description=f"{title}. Raised at the municipal safety forum; see the mitigation plan.",
            likelihood=likelihood,
            impact=impact,
            owner=owner,
            mitigations=(
                Mitigation(action, today + timedelta(days=30 + 15 * n), ActionStatus.IN_PROGRESS),
                Mitigation("Report progress to the safety forum", today + timedelta(days=90)),
            ),
            status=EntryStatus.MITIGATING if n % 3 == 0 else EntryStatus.OPEN,
            review_date=today + timedelta(days=60 + 7 * n),
        )
        register.create(conn, _demo_actor(), spec, now - timedelta(days=40 - n))
    gazetteer = BundledGazetteer()
    for name, lat, lon, status, inspected_days in _MINES:
        site = MineSpec(
            name,
            lat,
            lon,
            status,
            "gold",
            today - timedelta(days=inspected_days),
            "Demo site (approximate centre).",
        )
        mines.add(conn, _demo_actor(), site, gazetteer, now)
    _seed_incidents(conn, gp, now, gazetteer)


def _demo_actor() -> Principal:
    """The platform acting for the demo's municipal officials: a province-wide writer."""
    return Principal(
        user_id=SYSTEM.user_id,
        username="demo-seed",
        roles=frozenset({Role.MUNICIPAL_OFFICIAL}),
        clearance=SYSTEM.clearance,
        jurisdiction=Jurisdiction(provinces=frozenset({"GP"})),
    )


def _seed_incidents(conn: Connection, gp: Province, now: datetime, gazetteer: BundledGazetteer) -> None:
    rng = random.Random(8)  # noqa: S311 - synthetic demo data, not security
    metros = [s for s in gp.stations if s.municipality_code in ("JHB", "TSH", "EKU")]
    busy = rng.sample(metros, 25)
    weights = [rng.paretovariate(1.2) for _ in busy]
    rows = []
    for _ in range(3000):
        station = rng.choices(busy, weights)[0]
        r, angle = abs(rng.gauss(0, 0.006)), rng.uniform(0, 2 * math.pi)
        day = rng.uniform(0, 365)
        at = now - timedelta(days=day, hours=rng.uniform(0, 24) if rng.random() < 0.4 else 0)
        incident = Incident(
            at,
            station.lat + r * math.sin(angle),
            station.lon + r * math.cos(angle),
            rng.choice(INCIDENT_CATEGORIES),
            "demo",
        )
        rows.append(row_of(incident, gazetteer))
    for _name, lat, lon, status, _ in _MINES:
        if status is MineStatus.ILLEGALLY_WORKED:
            for _ in range(40):
                at = now - timedelta(days=rng.uniform(0, 120))
                point = Incident(
                    at, lat + rng.gauss(0, 0.003), lon + rng.gauss(0, 0.003), "illegal mining", "demo"
                )
                rows.append(row_of(point, gazetteer))
    conn.execute(insert(risk_incidents), rows)
