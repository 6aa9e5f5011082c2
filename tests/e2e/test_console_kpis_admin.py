"""The console's KPIs and administration views, in Debian's Chromium (Playwright).

An operator reads three days of response times (charts, table, CSV); an administrator
creates a user (and sees the authenticator QR code once) and a unit; a user without
administration rights is not offered the menu item.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from khusela.bootstrap import Platform
from khusela.core.clock import FrozenClock
from khusela.identity import totp
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.identity.tables import users
from khusela.panic.dispatch import AssignmentStatus, dispatch, move_assignment
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel, Outcome, UnitKind
from khusela.panic.tables import units
from khusela.panic.units import register_unit
from tests.conftest import People, Person

pytestmark = pytest.mark.slow

GAUTENG = Jurisdiction(provinces=frozenset({"GP"}))
STATIONS = {
    "SAPS Hillbrow": ((-26.1885, 28.0470), (4.0, 14.0)),
    "SAPS Johannesburg Central": ((-26.2041, 28.0473), (8.0, 20.0)),
    "SAPS Pretoria Central": ((-25.7479, 28.1878), (15.0, 60.0)),
}
"""Each station's position and how many seconds its alerts took to be answered (from, to)."""
DESKTOP = {"width": 1920, "height": 1080}


@pytest.fixture
def console(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]},
        base_url=server,
        timezone_id="Africa/Johannesburg",
        reduced_motion="reduce",
        accept_downloads=True,
    )
    yield ctx
    ctx.close()


def _sign_in(page: Page, person: Person, at: str = "/") -> None:
    page.goto(at)
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    assert person.totp_secret
    page.get_by_label("Authenticator code").fill(totp.current_code(person.totp_secret))
    page.get_by_role("button", name="Sign in").click()


def _seed_history(platform: Platform, people: People, operator: Person) -> int:
    """Three days of closed alerts, answered by three stations at different speeds:
    Hillbrow within 15 s, Johannesburg Central mostly, Pretoria Central too slowly."""
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    count = 0
    for index, (name, ((lat, lon), (fastest, slowest))) in enumerate(STATIONS.items()):
        agency = people.agency(name, AgencyType.SAPS_STATION, GAUTENG)
        crew = people.user(f"crew{index}", Role.RESPONDER, agency_id=agency).principal
        with platform.db.write() as conn:
            unit = register_unit(
                conn,
                SYSTEM,
                agency_id=agency,
                callsign=f"U-{index}",
                kind=UnitKind.POLICE_VEHICLE,
                lat=lat,
                lon=lon,
            ).id
        for n in range(8 + 3 * index):
            raised = now - timedelta(hours=rng.uniform(2, 70))
            answer = rng.uniform(fastest, slowest)

            def at(seconds: float, start: datetime = raised) -> FrozenClock:
                return FrozenClock(start + timedelta(seconds=seconds))

            with platform.db.write() as conn:
                command = RaisePanicAlert(
                    type=rng.choice([AlertType.CRIME, AlertType.MEDICAL, AlertType.GBV]),
                    channel=Channel.APP,
                    sender=f"device:{index}-{n}",
                    lat=lat + rng.uniform(-0.01, 0.01),
                    lon=lon + rng.uniform(-0.01, 0.01),
                )
                alert = str(raise_alert(conn, command, platform.gazetteer, at(0)).alert["id"])
                job = str(dispatch(conn, operator.principal, alert, unit, clock=at(answer))["id"])
                on_scene = answer + rng.uniform(240, 1200) * (1 + index)
                for seconds, status in [
                    (answer + 5, AssignmentStatus.ACKNOWLEDGED),
                    (answer + 30, AssignmentStatus.EN_ROUTE),
                    (on_scene, AssignmentStatus.ON_SCENE),
                    (on_scene + 900, AssignmentStatus.RESOLVED),
                ]:
                    outcome = Outcome.ATTENDED if status is AssignmentStatus.RESOLVED else None
                    move_assignment(conn, crew, job, status, outcome, clock=at(seconds))
            count += 1
    return count


def test_kpis_show_alerts_per_hour_and_response_times_per_station(
    console: BrowserContext, platform: Platform, shots: Path
) -> None:
    people = People(platform.db)
    operator = people.user("thandi", Role.OPERATOR)
    total = _seed_history(platform, people, operator)

    page = console.new_page()
    _sign_in(page, operator, "/#/kpis")
    expect(page.get_by_role("heading", name="Key performance indicators")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(rf"Alerts per hour: {total} alerts"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Response times per station"))).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Response times by station"))
    for station in STATIONS:
        expect(table.get_by_role("row", name=re.compile(station))).to_be_visible()
    expect(table.get_by_role("row", name=re.compile("SAPS Hillbrow")).get_by_role("cell").last).to_have_text(
        "✓ Meets target"
    )
    expect(
        table.get_by_role("row", name=re.compile("SAPS Pretoria Central")).get_by_role("cell").last
    ).to_have_text("✗ Below target")
    expect(table.locator("tfoot")).to_contain_text(str(total))
    page.wait_for_timeout(300)  # let Chart.js finish its first paint
    page.screenshot(path=shots / "console-kpis.png")
    table.scroll_into_view_if_needed()
    page.screenshot(path=shots / "console-kpis-table.png")

    page.get_by_label("Group by").select_option("municipality")
    expect(page.get_by_role("table", name=re.compile("Response times by municipality"))).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("khusela-response-times-municipality-")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) >= 2


def test_an_administrator_creates_a_user_and_sees_the_enrolment_code_once(
    console: BrowserContext, platform: Platform, shots: Path
) -> None:
    people = People(platform.db)
    admin = people.user("zanele", Role.ADMIN)
    people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, GAUTENG)

    page = console.new_page()
    _sign_in(page, admin)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("tab", name="Users").click()
    form = page.locator("form", has=page.get_by_role("heading", name="New user"))
    form.get_by_label("Username").fill("mpho")
    form.get_by_label("Display name").fill("Mpho Dlamini")
    form.get_by_role("checkbox", name="Responder").check()
    form.get_by_label("Agency").select_option(label="SAPS Hillbrow")
    form.get_by_label("Initial password").fill("too short")
    form.get_by_role("button", name="Create user").click()
    expect(form.get_by_role("alert")).to_contain_text("password")  # the API's 422, beside the form

    form.get_by_label("Initial password").fill("a long enough password")
    form.get_by_role("button", name="Create user").click()
    code = page.get_by_role("img", name="QR code enrolling mpho in an authenticator app")
    expect(code).to_be_visible()
    assert (code.get_attribute("src") or "").startswith("data:image/")
    expect(page.get_by_text("shown only once")).to_be_visible()
    page.screenshot(path=shots / "console-admin-user.png")
    expect(
        page.get_by_role("table", name="Users").get_by_role("row", name=re.compile("mpho"))
    ).to_be_visible()
    with platform.db.read() as conn:
        assert conn.execute(select(users.c.username).where(users.c.username == "mpho")).scalar_one() == "mpho"

    page.get_by_role("button", name="Done — hide the code").click()
    expect(code).to_have_count(0)


def test_an_administrator_creates_a_unit(console: BrowserContext, platform: Platform, shots: Path) -> None:
    people = People(platform.db)
    admin = people.user("zanele", Role.ADMIN)
    people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, GAUTENG)

    page = console.new_page()
    _sign_in(page, admin, "/#/admin")
    page.get_by_role("tab", name="Units").click()
    form = page.locator("form", has=page.get_by_role("heading", name="New unit"))
    form.get_by_label("Agency").select_option(label="SAPS Hillbrow")
    form.get_by_label("Call sign").fill("hb-9")
    form.get_by_label("Kind").select_option(label="Police vehicle")
    form.get_by_label("Latitude").fill("-26.1885")
    form.get_by_label("Longitude").fill("28.0470")
    form.get_by_role("button", name="Create unit").click()
    expect(form.get_by_role("status")).to_have_text("Unit HB-9 created.")
    expect(
        page.get_by_role("table", name="Units").get_by_role("row", name=re.compile("HB-9"))
    ).to_be_visible()
    with platform.db.read() as conn:
        row = conn.execute(select(units.c.kind, units.c.municipality).where(units.c.callsign == "HB-9")).one()
    assert (row.kind, row.municipality) == ("police_vehicle", "JHB")
    page.screenshot(path=shots / "console-admin-units.png")

    form.get_by_label("Call sign").fill("HB-9")
    form.get_by_label("Kind").select_option(label="Police vehicle")
    form.get_by_label("Agency").select_option(label="SAPS Hillbrow")
    form.get_by_label("Latitude").fill("-26.1885")
    form.get_by_label("Longitude").fill("28.0470")
    form.get_by_role("button", name="Create unit").click()
    expect(form.get_by_role("alert")).to_contain_text("HB-9 is taken")


def test_a_user_without_user_management_is_not_offered_administration(
    console: BrowserContext, platform: Platform
) -> None:
    operator = People(platform.db).user("thandi", Role.OPERATOR)
    page = console.new_page()
    _sign_in(page, operator)
    expect(page.get_by_role("link", name="KPIs")).to_be_visible()
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
