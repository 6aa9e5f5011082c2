"""The console's Intel desk (#/intel) in Debian's Chromium, against a live server, with its
data made through the intel API as an analyst of the State Security Agency would: a SECRET
item (TLP:AMBER, graded B2, handling P) and a RESTRICTED one (TLP:GREEN), an organisation
mentioned by both, and a mine site linked to it by the SECRET item alone.

A SECRET-cleared analyst reads the SECRET item between its marking banners, finds it by
full-text search, walks to the entity page (its neighbour drawn in the graph), asks a
request for information that SAPS answers with its own marking. A RESTRICTED-cleared
colleague in the same agency sees only the RESTRICTED item: the SECRET one is absent from
the list, from search and from the entity page, and its address shows "Not found" with
neither its title nor its id anywhere in the page; recording a person without a
justification shows the API's refusal. Screenshot: `console-intel.png` (copied to
docs/screenshots/).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from khusela.bootstrap import Platform
from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Role
from tests.conftest import People, Person
from tests.e2e.test_console import CONSOLE_SIZE

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
GP = Jurisdiction(provinces=frozenset({"GP"}))
SECRET_TITLE = "Gold buyer's convoy leaves Riverlea on Fridays"
SECRET_BODY = "A white bakkie collects gold-bearing concentrate from shaft 4 at dusk; two armed escorts."
RESTRICTED_TITLE = "Illegal miners gather at the Riverlea dumps"
QUESTION = "Who buys gold from the Riverlea shafts?"
ANSWER = "A Denver scrap dealer, see CAS 12/3"


@dataclass
class World:
    sipho: Person  # SECRET, State Security
    lerato: Person  # RESTRICTED, State Security
    thabo: Person  # SECRET, SAPS crime intelligence
    secret_id: str
    restricted_id: str
    syndicate_id: str


@pytest.fixture
def console_context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    yield ctx
    ctx.close()


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def build_world(server: str, platform: Platform) -> World:
    """Two agencies, three analysts who sign in to the browser, and a colleague (authenticator
    codes are one-use) who submits the items and links the entities through the API."""
    people = People(platform.db)
    ssa = people.agency("State Security Agency — Gauteng", AgencyType.SSA, GP)
    saps = people.agency("SAPS Crime Intelligence JHB", AgencyType.SAPS_STATION, GP)
    analyst = Role.INTEL_ANALYST
    desk = people.user("ssa-desk", analyst, agency_id=ssa, clearance=Clearance.SECRET)
    common = {
        "category": "illegal_mining",
        "source_grade": "B",
        "information_grade": 2,
        "handling": "P",
        "province": "GP",
        "municipality": "JHB",
    }
    with httpx.Client(base_url=server, timeout=10) as client:
        login = created(client.post("/api/auth/login", json=desk.login_body()))
        client.headers["Authorization"] = f"Bearer {login['access_token']}"
        secret = created(
            client.post(
                "/api/intel/items",
                json={
                    **common,
                    "title": SECRET_TITLE,
                    "body": SECRET_BODY,
                    "tlp": "AMBER",
                    "classification": "secret",
                },
            )
        )
        restricted = created(
            client.post(
                "/api/intel/items",
                json={
                    **common,
                    "title": RESTRICTED_TITLE,
                    "body": "About forty informal miners at the Riverlea dumps most mornings.",
                    "tlp": "GREEN",
                    "classification": "restricted",
                    "information_grade": 3,
                },
            )
        )
        entity = {"tlp": "GREEN", "classification": "restricted"}
        syndicate = created(
            client.post(
                "/api/intel/entities", json={**entity, "kind": "organisation", "label": "Riverlea syndicate"}
            )
        )
        shaft = created(
            client.post(
                "/api/intel/entities", json={**entity, "kind": "mine_site", "label": "Riverlea shaft 4"}
            )
        )
        for item in (secret, restricted):
            created(client.post(f"/api/intel/entities/{syndicate['id']}/items", json={"item_id": item["id"]}))
        created(
            client.post(
                f"/api/intel/entities/{syndicate['id']}/links",
                json={"target_id": shaft["id"], "relation": "operates_at", "asserted_by": secret["id"]},
            )
        )
    return World(
        sipho=people.user("ssa-sipho", analyst, agency_id=ssa, clearance=Clearance.SECRET),
        lerato=people.user("ssa-lerato", analyst, agency_id=ssa, clearance=Clearance.RESTRICTED),
        thabo=people.user("saps-thabo", analyst, agency_id=saps, clearance=Clearance.SECRET),
        secret_id=secret["id"],
        restricted_id=restricted["id"],
        syndicate_id=syndicate["id"],
    )


def open_intel(ctx: BrowserContext, person: Person) -> tuple[Page, list[str]]:
    """Sign in at `/#/intel`: the desk is the first view (an analyst's default view is the
    risk map, whose Leaflet animation errors when it is left within a frame of opening)."""
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/#/intel")
    body = person.login_body()
    page.get_by_label("Username").fill(body["username"])
    page.get_by_label("Password").fill(body["password"])
    page.get_by_label("Authenticator code").fill(body["totp"])
    page.get_by_role("button", name="Sign in").click()
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Intel")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Intel", level=2)).to_be_visible()
    return page, problems


def item_rows(page: Page) -> Any:
    return page.get_by_role("table", name="Intel items").locator("tbody tr")


def test_a_secret_analyst_reads_the_item_under_its_banners_walks_the_graph_and_gets_an_answer(
    server: str, platform: Platform, browser: Browser, console_context: BrowserContext, shots: Path
) -> None:
    world = build_world(server, platform)
    page, problems = open_intel(console_context, world.sipho)
    expect(page.get_by_role("tab", name="Items")).to_have_attribute("aria-selected", "true")
    rows = item_rows(page)
    expect(rows).to_have_count(2)
    secret_row = rows.filter(has_text=SECRET_TITLE)
    expect(secret_row).to_contain_text("TLP:AMBER")
    expect(secret_row).to_contain_text("secret")
    expect(secret_row).to_contain_text("B2 P")
    expect(secret_row).to_contain_text("State Security Agency")

    # full-text search finds it by a word of its body alone
    page.get_by_label("Search items").fill("bakkie")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="matching")).to_have_text("1 item matching “bakkie”")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name=SECRET_TITLE).click()

    item = page.get_by_role("region", name="Item")
    expect(page).to_have_url(re.compile(f"#/intel/items/{world.secret_id}$"))
    expect(item.get_by_role("heading", name=SECRET_TITLE)).to_be_focused()
    banner = "TLP:AMBER // SECRET // B2 // P"
    top = item.get_by_role("note", name="Marking", exact=True)
    expect(top).to_have_text(banner)
    expect(top).to_have_class(re.compile(r"\bin-tlp-amber\b"))
    expect(item.get_by_role("note", name="Marking (bottom)")).to_have_text(banner)
    expect(top).to_have_css("color", "rgb(255, 192, 0)")  # TLP 2.0 amber
    expect(item).to_contain_text("source usually reliable, information probably true")
    expect(item).to_contain_text("P — lawful sharing permitted")
    expect(item).to_contain_text("GP · JHB")
    expect(item).to_contain_text(SECRET_BODY)
    expect(item).not_to_contain_text("null")  # no absent part printed as a word
    page.screenshot(path=str(shots / "console-intel.png"))
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "console-intel.png", docs / "console-intel.png")

    # the entity page: both items, and the neighbour the SECRET item asserts, drawn and listed
    page.get_by_role("tab", name="Entities").click()
    page.get_by_label("Find entity by label").fill("Riverlea syndicate")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_role("list", name="Entities found").get_by_role("link", name="Riverlea syndicate").click()
    entity = page.get_by_role("region", name="Entity")
    expect(entity.get_by_role("heading", name="Riverlea syndicate")).to_be_focused()
    expect(entity.get_by_role("note", name="Marking", exact=True)).to_have_text("TLP:GREEN // RESTRICTED")
    expect(entity.get_by_role("list", name="Items mentioning it").get_by_role("link")).to_have_count(2)
    expect(entity.get_by_role("list", name="Neighbours")).to_contain_text("operates at → Riverlea shaft 4")
    expect(entity.get_by_role("img", name="Graph: Riverlea syndicate and 1 neighbour")).to_be_visible()
    page.screenshot(path=str(shots / "console-intel-entity.png"))
    entity.get_by_role("list", name="Neighbours").get_by_role("link", name="Riverlea shaft 4").click()
    expect(entity.get_by_role("heading", name="Riverlea shaft 4")).to_be_focused()
    expect(entity.get_by_role("list", name="Neighbours")).to_contain_text("← operates at Riverlea syndicate")

    # an RFI: asked here, handed to SAPS, answered there under its own marking
    page.get_by_role("tab", name="RFI inbox").click()
    ask = page.get_by_role("form", name="Ask for information")
    ask.get_by_label("Question").fill(QUESTION)
    ask.get_by_role("button", name="Ask").click()
    mine = page.get_by_role("list", name="Asked by your agency").get_by_role("listitem", name=QUESTION)
    expect(mine).to_contain_text("asked")
    mine.get_by_label("Assign to").select_option(label="SAPS Crime Intelligence JHB")
    mine.get_by_role("button", name="Assign").click()
    expect(mine).to_contain_text("assigned to SAPS Crime Intelligence JHB")

    other = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    try:
        saps, saps_problems = open_intel(other, world.thabo)
        saps.get_by_role("tab", name="RFI inbox").click()
        theirs = saps.get_by_role("list", name="Assigned to your agency").get_by_role(
            "listitem", name=QUESTION
        )
        answer = theirs.get_by_role("form", name="Answer the request")
        answer.get_by_label("Answer", exact=True).fill(ANSWER)
        answer.get_by_label("Answer classification").select_option("secret")
        answer.get_by_label("Grade (e.g. B2 P, optional)").fill("B2 P")
        answer.get_by_role("button", name="Send answer").click()
        expect(theirs.get_by_role("group", name="Answer")).to_contain_text(ANSWER)
        # SAPS may not see the SSA's SECRET item: it is not in their list
        saps.get_by_role("tab", name="Items").click()
        expect(item_rows(saps)).to_have_count(1)
        expect(item_rows(saps)).to_contain_text(RESTRICTED_TITLE)
        assert saps_problems == []
    finally:
        other.close()

    page.get_by_role("tab", name="Items").click()
    page.get_by_role("tab", name="RFI inbox").click()
    answered = mine.get_by_role("group", name="Answer")
    expect(answered).to_contain_text(ANSWER)
    expect(answered.get_by_role("note", name="Marking", exact=True)).to_have_text(
        "TLP:AMBER // SECRET // B2 // P"
    )
    page.screenshot(path=str(shots / "console-intel-rfi.png"))
    assert problems == []


def test_a_restricted_analyst_sees_neither_the_secret_item_nor_a_hint_of_it(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    world = build_world(server, platform)
    page, problems = open_intel(console_context, world.lerato)
    rows = item_rows(page)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(RESTRICTED_TITLE)

    for words, found in (("bakkie", 0), ("convoy", 0), ("Riverlea", 1)):
        page.get_by_label("Search items").fill(words)
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="matching")).to_contain_text(f"“{words}”")
        expect(rows).to_have_count(found)
    expect(rows.first).to_contain_text(RESTRICTED_TITLE)

    # the entity page lists only the item she may see, and no link the SECRET item asserts
    page.goto(f"/#/intel/entities/{world.syndicate_id}")
    entity = page.get_by_role("region", name="Entity")
    expect(entity.get_by_role("heading", name="Riverlea syndicate")).to_be_visible()
    expect(entity.get_by_role("list", name="Items mentioning it").get_by_role("link")).to_have_count(1)
    expect(entity.get_by_role("list", name="Neighbours")).to_have_text("No link you may see.")

    # its address: "Not found", and nothing of it in the page
    page.goto(f"/#/intel/items/{world.secret_id}")
    missing = page.get_by_role("region", name="Not found")
    expect(missing.get_by_role("heading", name="Not found")).to_be_focused()
    expect(rows).to_have_count(1)
    html = page.content()
    for secret in (world.secret_id, SECRET_TITLE, "convoy", "bakkie", "shaft 4"):
        assert secret not in html, secret
    assert world.restricted_id in html  # the page does carry the ids of what she may see

    # a person record without a reasonable-suspicion justification is refused, in the API's words
    page.get_by_role("tab", name="Entities").click()
    record = page.get_by_role("form", name="Record an entity")
    record.get_by_label("Kind").select_option("person")
    record.get_by_label("Label").fill("Sipho 'Gold' M.")
    record.get_by_role("button", name="Record entity").click()
    expect(record.get_by_role("alert")).to_contain_text("reasonable-suspicion")
    # an item submitted without its grading is refused, naming the fields; with it, it opens
    page.get_by_role("tab", name="Submit").click()
    submit = page.get_by_role("form", name="Submit an item")
    submit.get_by_label("Title").fill("Scrap yard buys stolen cable in Langlaagte")
    submit.get_by_label("Body").fill(
        "Copper cable cut from the rail line is sold at the yard on Main Reef Road."
    )
    submit.get_by_label("Category").select_option("infrastructure_theft")
    submit.get_by_label("Municipality").fill("JHB")
    submit.get_by_role("button", name="Submit item").click()
    refusal = submit.get_by_role("alert")
    expect(refusal).to_contain_text("the request does not match the schema")
    expect(refusal).to_contain_text("source_grade")
    submit.get_by_label("Source grade").select_option("C")
    submit.get_by_label("Information grade").select_option("3")
    submit.get_by_label("Handling").select_option("C")
    submit.get_by_role("button", name="Submit item").click()
    opened = page.get_by_role("region", name="Item")
    expect(opened.get_by_role("heading", name="Scrap yard buys stolen cable in Langlaagte")).to_be_focused()
    expect(opened.get_by_role("note", name="Marking", exact=True)).to_have_text(
        "TLP:AMBER // RESTRICTED // C3 // C"
    )

    # the only errors the browser logs are the two refusals shown above (404, 422)
    assert [p for p in problems if not re.search(r"\b(404|422)\b", p)] == []
