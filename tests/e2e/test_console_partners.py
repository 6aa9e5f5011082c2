"""The console's Partners panel (#/partners) in Debian's Chromium, against a live server, with
its data made through the partners API: an agreement between the City, JMPD and a CPF with
an overdue commitment, a joint operation with a panic alert pinned to its timeline, a CPF
patrol report whose screening flagged an ID number, and an anonymous tip sent with no
sign-in at all.

In the browser an official sees the overdue commitment highlighted and downloads the
quarter's CSV; the responsible party (JMPD) reports progress; an operator reads the
operation under its marking banner, draws a community alert's area by clicking H3 cells on
the map and sends it (the public CAP feed carries it), reads the patrol report's POPIA flags,
and replies to the tip (the tipster reads the reply with the code); a CPF member sees only
their group's agreement and the TLP:GREEN operation, and no composer or tips inbox.

An operations officer plans an operation through the form (its area clicked on the map as an
H3 cell and drawn as a polygon), starts it, links a panic alert, records an outcome and
debriefs it, the board moving it from column to column; a CPF member files a patrol report
whose observations hold an ID number, sees the screening flag it, edits it out and submits.
Screenshot: `console-partners.png` (copied to docs/screenshots/).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import httpx
import pytest
from lxml import etree
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, expect

from khusela.bootstrap import Platform
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.panic.exchange import cap
from khusela.panic.model import AlertType
from khusela.partners.tables import patrol_reports
from tests.conftest import People, Person
from tests.e2e.conftest import WAIT_MS
from tests.e2e.test_console import CONSOLE_SIZE, Console, open_console, raise_direct
from tests.panic_support import HILLBROW

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
JHB = Jurisdiction(municipalities=frozenset({"JHB"}), provinces=frozenset({"GP"}))
HILLBROW_CELL = h3.latlng_to_cell(HILLBROW[0], HILLBROW[1], 7)
OVERDUE = "Install 40 CCTV cameras at taxi ranks"
ON_TRACK = "Monthly joint by-law blitz"
OTHER_AGREEMENT = "Metro-SAPS dispatch SLA"
TIP = "Drugs are sold from the blue container behind the Hillbrow taxi rank after 20:00."
REPLY = "Thank you. A patrol will check the container this week."
ALERT_HEADLINE = "Armed robberies at the Hillbrow taxi rank"
PLANNED = "Operation Vala Hillbrow"
ID_NUMBER = "8001015009087"
FLAGGED = f"Gate of no. 7 left open at 22:10; the owner, ID {ID_NUMBER}, was told. Kotze St light out."
CLEANED = "Gate of no. 7 left open at 22:10; the owner was told. Kotze St light out."
# A one-pixel PNG: the smallest photo the API accepts.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201d3a3c5"
    "3b0000000049454e44ae426082"
)
NS = {"cap": cap.CAP_NS}


@pytest.fixture
def console_context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=CONSOLE_SIZE, base_url=server, accept_downloads=True)
    yield ctx
    ctx.close()


def api_as(server: str, person: Person) -> httpx.Client:
    client = httpx.Client(base_url=server, timeout=10)
    answer = client.post("/api/auth/login", json=person.login_body())
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


@dataclass
class World:
    """The people who sign in to the browser (API calls use colleagues: codes are one-use)."""

    official: Person
    controller: Person
    volunteer: Person
    agreement_id: str
    operation: str
    tip_code: str


def build_world(server: str, platform: Platform) -> World:
    """Everything the panel shows, made through the partners API as its users would."""
    people = People(platform.db)
    city = people.agency("City of Johannesburg", AgencyType.MUNICIPALITY, JHB)
    jmpd = people.agency("JMPD", AgencyType.METRO_POLICE, JHB)
    cpf = people.agency("Hillbrow CPF", AgencyType.CPF, JHB)
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, JHB)
    clerk = api_as(server, people.user("city-clerk", Role.MUNICIPAL_OFFICIAL, agency_id=city))
    planner = api_as(server, people.user("jmpd-planner", Role.OPERATOR, agency_id=jmpd))
    member = api_as(server, people.user("cpf-lindiwe", Role.COMMUNITY_PARTNER, agency_id=cpf))
    today = datetime.now(UTC).date()

    agreement = created(
        clerk.post(
            "/api/partners/agreements",
            json={
                "title": "Inner-city safety implementation agreement",
                "type": "implementation",
                "party_ids": [city, jmpd, cpf],
                "status": "active",
                "signed_on": (today - timedelta(days=200)).isoformat(),
                "municipality": "JHB",
                "summary": "The nuts and bolts of the City-JMPD-CPF cooperation in Hillbrow.",
            },
        )
    )
    area = created(
        clerk.post(
            f"/api/partners/agreements/{agreement['id']}/areas",
            json={"kind": "cctv_integration", "title": "CCTV integration"},
        )
    )
    for what, due, target in (
        (OVERDUE, today - timedelta(days=10), 40),
        (ON_TRACK, today + timedelta(days=120), 12),
    ):
        created(
            clerk.post(
                f"/api/partners/areas/{area['id']}/commitments",
                json={
                    "what": what,
                    "responsible_agency_id": jmpd,
                    "due_on": due.isoformat(),
                    "indicator": "Cameras live" if what == OVERDUE else "Blitzes held",
                    "target": target,
                },
            )
        )
    created(  # an agreement the CPF is not a party to
        clerk.post(
            "/api/partners/agreements",
            json={
                "title": OTHER_AGREEMENT,
                "type": "service_level",
                "party_ids": [city, jmpd],
                "municipality": "JHB",
            },
        )
    )

    now = datetime.now(UTC)
    plan = {
        "objective": "Disrupt drug dealing around the taxi rank",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=5)).isoformat(),
        "lead_agency_id": jmpd,
        "commander": "Supt. Mokoena",
        "participants": {jmpd: ["JM-21", "JM-22"], cpf: ["patrol A"], saps: ["HB-12"]},
        "polygon": [[-26.185, 28.043], [-26.185, 28.052], [-26.192, 28.052], [-26.192, 28.043]],
        "briefing": "Two entry teams; the CPF patrol observes from Pretoria St.",
        "municipality": "JHB",
        "agreement_id": agreement["id"],
    }
    operation = created(
        planner.post(
            "/api/partners/operations",
            json={**plan, "name": "Operation Shanela Hillbrow", "marking": {"tlp": "GREEN"}},
        )
    )
    created(
        planner.post(
            "/api/partners/operations",
            json={**plan, "name": "Operation Shanela (entry teams)", "marking": {"tlp": "AMBER"}},
        )
    )
    panic = raise_direct(platform, 1, AlertType.CRIME, HILLBROW)
    created(
        planner.post(
            f"/api/partners/operations/{operation['id']}/links", json={"kind": "panic_alert", "ref_id": panic}
        )
    )

    created(
        member.post(
            "/api/partners/patrols",
            json={
                "started_at": (now - timedelta(hours=3)).isoformat(),
                "ended_at": (now - timedelta(hours=1)).isoformat(),
                "route": {
                    "type": "LineString",
                    "coordinates": [[28.0470, -26.1885], [28.0500, -26.1900], [28.0520, -26.1880]],
                },
                "observations": (
                    "Man loitering at no. 12 gave ID 8001015009087. Two street lights out on Kotze St."
                ),
                "confirm_personal_information": True,
            },
        )
    )
    with httpx.Client(base_url=server, timeout=10) as anonymous:  # no sign-in, no token
        tip = anonymous.post(
            "/api/partners/tips", json={"category": "drugs", "body": TIP, "municipality": "JHB"}
        )
    assert tip.status_code == 201, tip.text
    return World(
        official=people.user("mayco-safety", Role.MUNICIPAL_OFFICIAL, agency_id=city),
        controller=people.user("jmpd-cc", Role.OPERATOR, agency_id=jmpd),
        volunteer=people.user("cpf-sipho", Role.COMMUNITY_PARTNER, agency_id=cpf),
        agreement_id=agreement["id"],
        operation=operation["name"],
        tip_code=tip.json()["tracking_code"],
    )


def sign_in_volunteer(ctx: BrowserContext, person: Person) -> Console:
    """Community partners sign in with a password alone (no authenticator on their phones)."""
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return Console(page, problems)


def open_partners(ctx: BrowserContext, person: Person) -> Console:
    console = open_console(ctx, person) if person.totp_secret else sign_in_volunteer(ctx, person)
    console.page.get_by_role("navigation", name="Main").get_by_role("link", name="Partners").click()
    expect(console.page.get_by_role("heading", name="Partners", level=2)).to_be_visible()
    return console


def commitment_row(page: Page, what: str) -> Any:
    return (
        page.get_by_role("table", name="Commitments: CCTV integration")
        .locator("tbody tr")
        .filter(has_text=what)
    )


def test_an_official_sees_the_overdue_commitment_and_the_responsible_party_reports_progress(
    server: str, platform: Platform, browser: Browser, console_context: BrowserContext, shots: Path
) -> None:
    world = build_world(server, platform)
    console = open_partners(console_context, world.official)
    page = console.page
    expect(page.get_by_role("tab", name="Agreements")).to_have_attribute("aria-selected", "true")

    # the oversight board: the overdue commitment, highlighted; the on-track one is not there
    attention = page.get_by_role("table", name="Overdue and at-risk commitments").locator("tbody tr")
    expect(attention).to_have_count(1)
    expect(attention.first).to_contain_text(OVERDUE)
    expect(attention.first).to_contain_text("Overdue")
    expect(attention.first).to_have_class(re.compile(r"\bpt-overdue\b"))

    agreements = page.get_by_role("table", name="Agreements").locator("tbody tr")
    expect(agreements).to_have_count(2)
    agreements.filter(has_text="Inner-city safety").click()
    detail = page.get_by_role("region", name="Inner-city safety implementation agreement")
    expect(detail.get_by_role("heading", level=3)).to_be_focused()
    expect(detail.get_by_role("list", name="Parties")).to_contain_text("Hillbrow CPF")
    overdue = commitment_row(page, OVERDUE)
    expect(overdue).to_have_class(re.compile(r"\bpt-overdue\b"))
    expect(overdue).to_contain_text("Cameras live · at least 40")
    expect(commitment_row(page, ON_TRACK)).to_contain_text("On track")
    # the City is a party but not the responsible one: no progress form for its official
    expect(detail.get_by_role("button", name="Report progress")).to_have_count(0)

    with page.expect_download() as download:
        detail.get_by_role("button", name="Download CSV").click()
    path = download.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert {r["commitment"]: r["health"] for r in rows} == {OVERDUE: "overdue", ON_TRACK: "on_track"}
    assert download.value.suggested_filename.endswith(".csv")

    page.screenshot(path=str(shots / "console-partners-agreement.png"))

    # JMPD answers for the commitments: its controller reports progress in another browser
    other = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    try:
        jmpd = open_partners(other, world.controller).page
        jmpd.get_by_role("table", name="Agreements").locator("tbody tr").filter(
            has_text="Inner-city safety"
        ).click()
        row = commitment_row(jmpd, ON_TRACK)
        row.get_by_role("button", name="Report progress").click()
        form = jmpd.get_by_role("form", name=f"Progress on {ON_TRACK}")
        form.get_by_label("Percent done").fill("150")
        form.get_by_label("Note").fill("Three blitzes held")
        form.get_by_role("button", name="Submit progress").click()
        expect(form.get_by_label("Percent done")).to_be_focused()  # the browser refuses 150 %
        form.get_by_label("Percent done").fill("30")
        form.get_by_label("On track").uncheck()
        form.get_by_label("Indicator value").fill("3")
        form.get_by_role("button", name="Submit progress").click()
        expect(row).to_contain_text("30 % · value 3")
        expect(row).to_contain_text("At risk")  # the reporter says it is not on track
        expect(row).to_have_class(re.compile(r"\bpt-at_risk\b"))
        row.get_by_role("button", name="History").click()
        expect(jmpd.get_by_role("list", name=f"Progress of {ON_TRACK}")).to_contain_text("Three blitzes held")
    finally:
        other.close()

    # the official's board now lists it too (at risk after overdue)
    page.get_by_role("tab", name="Operations").click()
    # officials may not list agencies: they plan with the parties of their agreements
    page.get_by_role("button", name="Plan operation").click()
    plan = page.get_by_role("form", name="Plan an operation")
    expect(plan.get_by_role("list", name="Participating agencies").get_by_role("listitem")).to_have_text(
        ["City of Johannesburg", "Hillbrow CPF", "JMPD"]
    )
    plan.get_by_role("button", name="Cancel").click()
    expect(plan).to_have_count(0)
    page.get_by_role("tab", name="Agreements").click()
    expect(attention).to_have_count(2)
    expect(attention.nth(1)).to_contain_text(ON_TRACK)
    assert console.problems == []


def test_an_operator_reads_an_operation_sends_a_community_alert_and_answers_a_tip(
    server: str, platform: Platform, console_context: BrowserContext, shots: Path
) -> None:
    world = build_world(server, platform)
    console = open_partners(console_context, world.controller)
    page = console.page

    # operations board: ours is active (its window opened, an event was linked); marking banner
    page.get_by_role("tab", name="Operations").click()
    active = page.get_by_role("list", name="Active operations")
    active.get_by_role("button", name=re.compile(world.operation)).click()
    detail = page.get_by_role("region", name="Operation")
    expect(detail.get_by_role("note", name="Marking")).to_have_text("TLP:GREEN // UNCLASSIFIED")
    timeline = detail.get_by_role("list", name="Shared timeline")
    expect(timeline).to_contain_text("Panic alert (crime)")
    expect(timeline).to_contain_text("Operation window opens")
    detail.get_by_role("form", name="Record an outcome").get_by_label("Description").fill(
        "suspects for dealing"
    )
    detail.get_by_role("form", name="Record an outcome").get_by_label("How many").fill("2")
    detail.get_by_role("button", name="Record outcome").click()
    expect(detail.get_by_role("list", name="Outcomes")).to_contain_text(
        "2 \u00d7 arrest \u2014 suspects for dealing"
    )
    expect(page.get_by_role("list", name="Planned operations")).to_contain_text("entry teams")

    # community alert: its area is clicked on the map as H3 cells
    page.get_by_role("tab", name="Community alerts").click()
    composer = page.get_by_role("form", name="Compose a community alert")
    page.wait_for_function(
        "() => (window.khusela.partnersComposerMap || {gridLayers: new Map()}).gridLayers.size > 100",
        timeout=WAIT_MS,
    )
    composer.get_by_label("Headline").fill(ALERT_HEADLINE)
    composer.get_by_label("Text", exact=True).fill("Three armed robberies of commuters since Friday evening.")
    composer.get_by_label("Area in words").fill("Hillbrow, around the taxi rank")
    composer.get_by_label("Severity").select_option("Severe")
    composer.get_by_role("button", name="Send alert").click()
    expect(composer.get_by_role("alert")).to_contain_text("say where")  # the API's own refusal
    point = page.evaluate(f"window.khusela.partnersComposerMap.pointOfCell('{HILLBROW_CELL}')")
    box = page.locator(".pt-map-composer").bounding_box()
    assert point is not None
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    expect(composer.get_by_text("1 cell chosen in JHB")).to_be_visible()
    expect(composer.get_by_label("Municipality")).to_have_value("JHB")
    composer.get_by_label("Instruction").fill("Travel in groups after dark; report on 10111.")
    page.screenshot(path=str(shots / "console-partners.png"))
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "console-partners.png", docs / "console-partners.png")
    composer.get_by_role("button", name="Send alert").click()
    sent = (
        page.get_by_role("table", name="Community alerts").locator("tbody tr").filter(has_text=ALERT_HEADLINE)
    )
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("Severe")
    expect(sent).to_contain_text("1 cell")
    feed = httpx.get(f"{server}/api/partners/community-alerts.cap", timeout=10)  # public: no token
    assert feed.status_code == 200
    entries = etree.fromstring(feed.content, parser=cap.safe_parser()).findall(".//cap:alert", NS)
    assert [e.findtext("cap:info/cap:headline", namespaces=NS) for e in entries] == [ALERT_HEADLINE]
    assert cap.errors(entries[0]) == []
    assert HILLBROW_CELL in feed.text
    href = page.get_by_role("link", name="CAP feed (public, Atom)").get_attribute("href")
    assert href == "/api/partners/community-alerts.cap"

    # patrol reports: the POPIA flags and the route on the map
    page.get_by_role("tab", name="Patrol reports").click()
    patrols = page.get_by_role("table", name="Patrol reports").locator("tbody tr")
    expect(patrols).to_have_count(1)
    expect(patrols.first).to_contain_text("ID number")
    patrols.first.click()
    report = page.get_by_role("region", name="Patrol report")
    expect(report.get_by_label("POPIA screening")).to_contain_text("ID number")
    expect(report).to_contain_text("Two street lights out")
    expect(page.get_by_role("button", name="New patrol report")).to_have_count(0)  # CPF members file them
    expect(
        report.locator(".pt-map-route path.leaflet-interactive, .pt-map-route canvas").first
    ).to_be_visible()

    # the tips inbox: reply; the tipster reads it with the code
    page.get_by_role("tab", name="Tips inbox").click()
    tips = page.get_by_role("table", name="Tips").locator("tbody tr")
    expect(tips).to_have_count(1)
    expect(tips.first).to_contain_text("drugs")
    tips.first.click()
    tip = page.get_by_role("region", name="Tip")
    expect(tip.get_by_role("list", name="Conversation")).to_contain_text(TIP)
    tip.get_by_label("Reply (the tipster reads it, signed by your agency)").fill(REPLY)
    tip.get_by_label("Set status").select_option("reviewing")
    tip.get_by_role("button", name="Send reply").click()
    expect(tip.get_by_role("list", name="Conversation")).to_contain_text(REPLY)
    expect(tips.first).to_contain_text("reviewing")

    seen = httpx.get(f"{server}/api/partners/tips/{world.tip_code}", timeout=10).json()
    assert seen["status"] == "reviewing"
    assert [(m["author"], m["agency_name"], m["body"]) for m in seen["messages"]][-1] == (
        "staff",
        "JMPD",
        REPLY,
    )
    assert "jmpd-cc" not in str(seen)
    # the one error the browser logs is the alert refused without an area (422), shown above
    assert [p for p in console.problems if "422 (Unprocessable Entity)" not in p] == []


def test_a_community_partner_sees_only_what_their_group_may(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    world = build_world(server, platform)
    console = open_partners(console_context, world.volunteer)
    page = console.page
    tabs = page.get_by_role("tablist", name="Partners sections").get_by_role("tab")
    expect(tabs).to_have_text(["Agreements", "Operations", "Community alerts", "Patrol reports"])

    agreements = page.get_by_role("table", name="Agreements").locator("tbody tr")
    expect(agreements).to_have_count(1)
    expect(agreements.first).to_contain_text("Inner-city safety")
    expect(page.get_by_text(OTHER_AGREEMENT)).to_have_count(0)

    page.get_by_role("tab", name="Operations").click()
    expect(page.get_by_role("list", name="Active operations")).to_contain_text(world.operation)
    expect(page.get_by_text("entry teams")).to_have_count(0)  # TLP:AMBER: above the group's ceiling
    expect(page.get_by_role("button", name="Plan operation")).to_have_count(0)  # police and officials plan

    page.get_by_role("tab", name="Community alerts").click()
    expect(page.get_by_role("table", name="Community alerts")).to_be_visible()
    expect(page.get_by_role("form", name="Compose a community alert")).to_have_count(0)

    page.get_by_role("tab", name="Patrol reports").click()
    expect(page.get_by_role("table", name="Patrol reports").locator("tbody tr")).to_have_count(1)
    assert console.problems == []


def click_map(page: Page, selector: str, point: dict[str, float] | None) -> None:
    """Click a map at `point` (container pixels, from the map's test hooks)."""
    box = page.locator(selector).bounding_box()
    assert point is not None
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_an_operations_officer_plans_starts_links_records_and_debriefs_an_operation(
    server: str, platform: Platform, console_context: BrowserContext, shots: Path
) -> None:
    world = build_world(server, platform)
    alert = raise_direct(platform, 2, AlertType.CRIME, HILLBROW)
    console = open_partners(console_context, world.controller)
    page = console.page
    page.get_by_role("tab", name="Operations").click()
    page.get_by_role("button", name="Plan operation").click()
    form = page.get_by_role("form", name="Plan an operation")
    expect(form.get_by_label("Name", exact=True)).to_be_focused()
    form.get_by_label("Name", exact=True).fill(PLANNED)
    form.get_by_label("Objective").fill("Close the drug houses on Pretoria St")
    form.get_by_label("Commander").fill("Insp. Dlamini")
    expect(form.get_by_label("Lead agency")).to_have_value(re.compile(r".+"))
    expect(form.get_by_label("Lead agency").locator("option:checked")).to_have_text("JMPD")
    participants = form.get_by_role("list", name="Participating agencies")
    participants.get_by_role("checkbox", name="Hillbrow CPF", exact=True).check()
    form.get_by_label("Units of Hillbrow CPF").fill("patrol B, patrol C")
    form.get_by_label("Find an agency").fill("saps")
    expect(participants.get_by_role("checkbox", name="JMPD", exact=True)).to_be_hidden()
    participants.get_by_role("checkbox", name="SAPS Hillbrow", exact=True).check()
    form.get_by_label("TLP marking").select_option("GREEN")
    form.get_by_label("Caveats").fill("LEO")
    form.get_by_label("Briefing notes").fill("Two teams; the CPF observes from the corner of Kotze St.")

    # the area: one H3 cell clicked, then a polygon's corners drawn
    page.wait_for_function(
        "() => (window.khusela.partnersPlanMap || {gridLayers: new Map()}).gridLayers.size > 100",
        timeout=WAIT_MS,
    )
    click_map(
        page, ".pt-map-plan", page.evaluate(f"window.khusela.partnersPlanMap.pointOfCell('{HILLBROW_CELL}')")
    )
    expect(form.get_by_text("1 cell chosen")).to_be_visible()
    expect(form.get_by_label("Municipality")).to_have_value("JHB")
    form.get_by_label("Draw a polygon").check()
    for lat, lon in ((-26.186, 28.044), (-26.186, 28.050), (-26.191, 28.047)):
        click_map(
            page, ".pt-map-plan", page.evaluate(f"window.khusela.partnersPlanMap.pointOfLatLng({lat}, {lon})")
        )
    expect(form.get_by_text("1 cell chosen and polygon of 3 corners")).to_be_visible()

    # a window that ends before it starts: the API's reason, in the form
    window_end = form.get_by_label("Ends").input_value()
    form.get_by_label("Ends").fill("2020-01-01T10:00")
    form.get_by_role("button", name="Plan operation").click()
    expect(form.get_by_role("alert")).to_contain_text("ends after it starts")
    form.get_by_label("Ends").fill(window_end)
    page.screenshot(path=str(shots / "console-partners-plan.png"))
    form.get_by_role("button", name="Plan operation").click()

    planned = page.get_by_role("list", name="Planned operations")
    active = page.get_by_role("list", name="Active operations")
    closed = page.get_by_role("list", name="Closed operations")
    expect(planned).to_contain_text(PLANNED)
    detail = page.get_by_role("region", name="Operation")
    expect(detail.get_by_role("heading", name=PLANNED)).to_be_visible()
    expect(detail.get_by_role("note", name="Marking")).to_have_text("TLP:GREEN // UNCLASSIFIED // LEO")
    expect(detail.get_by_role("list", name="Participants")).to_contain_text(
        "Hillbrow CPF: patrol B, patrol C"
    )
    expect(detail.get_by_role("list", name="Participants")).to_contain_text("SAPS Hillbrow")
    expect(detail).to_contain_text("Kotze St")
    expect(detail.get_by_text(re.compile(r"^\d+ H3 cells$"))).to_be_visible()  # the cell and the polygon's

    detail.get_by_role("button", name="Start the operation").click()
    expect(active).to_contain_text(PLANNED)
    expect(planned).not_to_contain_text(PLANNED)
    expect(detail.get_by_role("button", name="Start the operation")).to_have_count(0)

    link = detail.get_by_role("form", name="Link an event")
    link.get_by_label("Event").select_option("panic_alert")
    link.get_by_label("Its id").fill(alert)
    link.get_by_role("button", name="Link").click()
    timeline = detail.get_by_role("list", name="Shared timeline")
    expect(timeline).to_contain_text("Panic alert (crime)")

    outcome = detail.get_by_role("form", name="Record an outcome")
    outcome.get_by_label("Outcome").select_option("seizure")
    outcome.get_by_label("How many").fill("3")
    outcome.get_by_label("Description").fill("parcels of dagga")
    outcome.get_by_role("button", name="Record outcome").click()
    expect(detail.get_by_role("list", name="Outcomes")).to_contain_text(
        "3 \u00d7 seizure \u2014 parcels of dagga"
    )
    expect(timeline).to_contain_text("3 x parcels of dagga")

    debrief = detail.get_by_role("form", name="Debrief and close")
    debrief.get_by_label("Debrief").fill("Two houses closed; the CPF's watch post worked well.")
    debrief.get_by_role("button", name="Debrief and close").click()
    expect(closed).to_contain_text(PLANNED)
    expect(active).not_to_contain_text(PLANNED)
    expect(detail).to_contain_text("Two houses closed")
    expect(detail.get_by_role("form")).to_have_count(0)  # closed: its timeline and outcomes are final
    expect(timeline).to_contain_text("Panic alert (crime)")
    # the one error the browser logs is the plan refused for its window (422), shown above
    assert [p for p in console.problems if "422 (Unprocessable Entity)" not in p] == []


def test_a_community_partner_edits_out_a_flagged_id_number_and_files_a_patrol_report(
    server: str, platform: Platform, console_context: BrowserContext, shots: Path
) -> None:
    world = build_world(server, platform)
    console = open_partners(console_context, world.volunteer)
    page = console.page
    page.get_by_role("tab", name="Patrol reports").click()
    rows = page.get_by_role("table", name="Patrol reports").locator("tbody tr")
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="New patrol report").click()
    form = page.get_by_role("form", name="New patrol report")

    page.wait_for_function("() => Boolean(window.khusela.partnersPatrolMap)", timeout=WAIT_MS)
    for lat, lon in ((-26.1885, 28.0470), (-26.1900, 28.0500), (-26.1880, 28.0520)):
        click_map(
            page,
            ".pt-map-draw",
            page.evaluate(f"window.khusela.partnersPatrolMap.pointOfLatLng({lat}, {lon})"),
        )
    expect(form.get_by_text("Route of 3 points")).to_be_visible()
    form.get_by_label("Observations").fill(FLAGGED)
    form.get_by_label("Photos").set_input_files(
        files=[FilePayload(name="gate.png", mimeType="image/png", buffer=PNG)]
    )

    form.get_by_role("button", name="Check and submit").click()
    screening = form.get_by_role("region", name="POPIA screening")
    expect(screening).to_contain_text("personal information of other people")
    flagged = screening.get_by_role("list", name="Flagged personal information")
    expect(flagged).to_contain_text("ID number")
    expect(flagged).to_contain_text("\u2022" * 11 + "87")  # masked: only its last two digits
    expect(flagged).not_to_contain_text(ID_NUMBER)
    form.get_by_role("button", name="Check and submit").click()  # neither edited nor confirmed
    expect(form.get_by_role("alert").last).to_contain_text("Edit the flagged details out")
    expect(rows).to_have_count(1)  # nothing was filed
    page.screenshot(path=str(shots / "console-partners-patrol.png"))

    form.get_by_label("Observations").fill(CLEANED)
    form.get_by_role("button", name="Check and submit").click()
    expect(rows).to_have_count(2)
    mine = rows.filter(has_text="Hillbrow CPF").filter(has_not_text="ID number")
    expect(mine).to_have_count(1)
    expect(mine.locator("td").last).to_have_text("1")  # the photo
    report = page.get_by_role("region", name="Patrol report")
    expect(report.get_by_label("POPIA screening")).to_contain_text("no ID or phone numbers")
    expect(report).to_contain_text(CLEANED)
    with platform.db.read() as conn:
        stored = conn.execute(patrol_reports.select().where(patrol_reports.c.observations == CLEANED)).all()
    assert [(r.flags, r.route["type"], len(r.route["coordinates"])) for r in stored] == [
        ([], "LineString", 3)
    ]
    assert console.problems == []
