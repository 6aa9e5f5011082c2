"""The responder view at /responder, in Debian's Chromium at phone size (Playwright).

A crew member signs in, signs on to their unit, receives an assignment over the live feed
without reloading, and works it to the end with the status buttons while the phone reports
the unit's position. The operator and the resident act through the HTTP API, as their
own apps do.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from khusela.bootstrap import Platform
from khusela.identity import totp
from khusela.identity.adapters.sms_log import LogSmsSender
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic.model import UnitKind
from khusela.panic.tables import units
from khusela.panic.units import register_unit
from tests.conftest import People, Person
from tests.e2e.conftest import WAIT_MS, wait_for
from tests.e2e.resident import PHONE, Phone, code_texted
from tests.panic_support import HILLBROW

pytestmark = pytest.mark.slow

GAUTENG = Jurisdiction(provinces=frozenset({"GP"}))
BASE = (-26.1950, 28.0400)
"""Where the units are parked when registered (a few hundred metres from Hillbrow)."""
SCENE = (-26.1905, 28.0455)
FEED_MS = 5_000
"""Well under the view's 15 s poll: an assignment seen this fast came over the live feed."""
STEPS = ["Acknowledge", "En route", "On scene", "Resolved"]


@dataclass
class Crew:
    platform: Platform
    http: httpx.Client
    responder: Person
    operator: dict[str, str]
    unit_id: str


def _headers(http: httpx.Client, person: Person) -> dict[str, str]:
    response = http.post("/api/auth/login", json=person.login_body())
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def crew(platform: Platform, server: str) -> Iterator[Crew]:
    people = People(platform.db)
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, GAUTENG)
    responder = people.user("sipho", Role.RESPONDER, agency_id=saps)
    operator = people.user("thandi", Role.OPERATOR)
    people.user("nomsa", Role.RESIDENT, phone=PHONE)
    with platform.db.write() as conn:
        unit_id = register_unit(
            conn,
            SYSTEM,
            agency_id=saps,
            callsign="HB-1",
            kind=UnitKind.POLICE_VEHICLE,
            lat=BASE[0],
            lon=BASE[1],
        ).id
        register_unit(
            conn,
            SYSTEM,
            agency_id=saps,
            callsign="HB-2",
            kind=UnitKind.POLICE_VEHICLE,
            lat=BASE[0],
            lon=BASE[1],
        )
    with httpx.Client(base_url=server, timeout=10) as http:
        yield Crew(platform, http, responder, _headers(http, operator), unit_id)


def _sign_on(page: Page, person: Person, callsign: str) -> None:
    page.goto("/responder")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    assert person.totp_secret
    page.get_by_label("Authenticator code").fill(totp.current_code(person.totp_secret))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=re.compile(rf"^{callsign}\b")).click()
    expect(page.get_by_role("button", name=f"Sign off {callsign}")).to_be_visible()


def _raise_alert(crew: Crew, *, silent: bool) -> str:
    """The resident presses the button in their app (signed in with a texted code)."""
    sms = crew.platform.sms
    assert isinstance(sms, LogSmsSender)
    before = len(sms.sent)
    assert crew.http.post("/api/auth/resident/code", json={"phone": PHONE}).status_code == 202
    token = crew.http.post(
        "/api/auth/resident/token", json={"phone": PHONE, "code": code_texted(crew.platform, before)}
    )
    assert token.status_code == 200, token.text
    alert = crew.http.post(
        "/api/panic/alerts",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        json={
            "type": "crime",
            "lat": SCENE[0],
            "lon": SCENE[1],
            "accuracy_m": 15,
            "silent": silent,
            "client_alert_id": str(uuid.uuid4()),
        },
    )
    assert alert.status_code == 201, alert.text
    return str(alert.json()["id"])


def _alert(crew: Crew, alert_id: str) -> dict[str, Any]:
    response = crew.http.get(f"/api/panic/alerts/{alert_id}", headers=crew.operator)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _step(card: Locator, name: str) -> Locator:
    """A status button (its name ends with the time the step was taken, once it was)."""
    return card.get_by_role("button", name=re.compile(rf"^{name}( \d\d:\d\d)?$"))


def _expect_only_enabled(card: Locator, step: str) -> None:
    for name in STEPS:
        button = _step(card, name)
        if name == step:
            expect(button).to_be_enabled()
        else:
            expect(button).to_be_disabled()


def test_crew_signs_on_gets_an_assignment_live_and_works_it_to_the_end(
    crew: Crew, phone: Phone, shots: Any
) -> None:
    page = phone.context.new_page()
    _sign_on(page, crew.responder, "HB-1")
    expect(page.get_by_role("heading", name=re.compile("standing by"))).to_be_visible()
    token = page.evaluate("sessionStorage.getItem('khusela.token')")
    signed = crew.http.get("/api/panic/crew", headers={"Authorization": f"Bearer {token}"}).json()
    assert signed["unit"]["callsign"] == "HB-1"

    alert_id = _raise_alert(crew, silent=True)
    dispatched = crew.http.post(
        f"/api/panic/alerts/{alert_id}/dispatch", headers=crew.operator, json={"unit_id": crew.unit_id}
    )
    assert dispatched.status_code == 201, dispatched.text
    card = page.get_by_role("article")
    expect(card.get_by_role("heading", name=re.compile("P1 Crime"))).to_be_visible(timeout=FEED_MS)
    expect(card).to_contain_text("SILENT ALARM")
    expect(card).to_contain_text("no sirens")
    expect(card.get_by_role("link", name="Navigate")).to_have_attribute("href", re.compile(r"^geo:-26\.1905"))
    expect(card.get_by_role("link", name="Open map")).to_have_attribute("href", re.compile("openstreetmap"))
    expect(card).to_contain_text("ETA")
    _expect_only_enabled(card, "Acknowledge")
    page.screenshot(path=shots / "responder.png", full_page=True, animations="disabled")

    # each step: the one valid button, the card follows, and the alert follows on the server
    for step, shown, alert_status in [
        ("Acknowledge", "Acknowledged", "dispatched"),
        ("En route", "En route", "en_route"),
        ("On scene", "On scene", "on_scene"),
    ]:
        _expect_only_enabled(card, step)
        _step(card, step).click()
        expect(card.get_by_text(f"Status: {shown}")).to_be_visible()
        assert _alert(crew, alert_id)["status"] == alert_status

    resolve = _step(card, "Resolved")
    expect(resolve).to_be_disabled()  # until an outcome is chosen
    card.get_by_role("radio", name="Attended").check()
    expect(resolve).to_be_enabled()
    page.screenshot(path=shots / "responder-on-scene.png", full_page=True, animations="disabled")
    resolve.click()
    expect(page.get_by_role("heading", name=re.compile("standing by"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Crime resolved \(attended\)"))).to_be_visible()
    closed = _alert(crew, alert_id)
    assert closed["status"] == "resolved"
    assert closed["outcome"] == "attended"


def _position(platform: Platform, unit_id: str) -> tuple[float, float]:
    with platform.db.read() as conn:
        row = conn.execute(select(units.c.lat, units.c.lon).where(units.c.id == unit_id)).one()
    return float(row.lat), float(row.lon)


def _near(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < 1e-5 and abs(a[1] - b[1]) < 1e-5


def test_the_phone_reports_the_units_position_at_most_every_ten_seconds(crew: Crew, phone: Phone) -> None:
    page = phone.context.new_page()
    _sign_on(page, crew.responder, "HB-1")
    wait_for(lambda: _near(_position(crew.platform, crew.unit_id), HILLBROW), "the first fix was not sent")
    first = time.monotonic()
    expect(page.get_by_text(re.compile(r"Location sent \d\d:\d\d:\d\d"))).to_be_visible()

    moved = (-26.2041, 28.0473)
    phone.context.set_geolocation({"latitude": moved[0], "longitude": moved[1], "accuracy": 8})
    wait_for(
        lambda: _near(_position(crew.platform, crew.unit_id), moved),
        "the new position was not sent",
        seconds=15,
    )
    assert time.monotonic() - first >= 9, "positions are sent at most every 10 s"
    expect(page.get_by_text(re.compile(r"-26\.20410, 28\.04730"))).to_be_visible(timeout=WAIT_MS)


def test_a_responder_cannot_work_another_agencys_unit(crew: Crew) -> None:
    people = People(crew.platform.db)
    ems = people.agency("Gauteng EMS", AgencyType.EMS, GAUTENG)
    medic = _headers(crew.http, people.user("lerato", Role.RESPONDER, agency_id=ems))
    alert_id = _raise_alert(crew, silent=False)
    assignment = crew.http.post(
        f"/api/panic/alerts/{alert_id}/dispatch", headers=crew.operator, json={"unit_id": crew.unit_id}
    ).json()

    moved = crew.http.post(
        f"/api/panic/assignments/{assignment['id']}/status", headers=medic, json={"status": "acknowledged"}
    )
    assert moved.status_code in (403, 404), moved.text
    signed_on = crew.http.post("/api/panic/crew", headers=medic, json={"unit_id": crew.unit_id})
    assert signed_on.status_code in (403, 404), signed_on.text
    seen = crew.http.get(f"/api/panic/assignments?mine=true&unit_id={crew.unit_id}", headers=medic)
    assert seen.json() == []
    assert _alert(crew, alert_id)["status"] == "dispatched"
