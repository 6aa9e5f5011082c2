"""The console's Risk panel (#/risk) in Debian's Chromium against a live server: a municipal
official of Johannesburg edits a Johannesburg register entry and reads its history, the
matrix roll-up follows the edit, Tshwane's entry is neither shown to them nor editable
through the API, a provincial operator sees both read-only, and the map draws the register,
hotspot, forecast and mine-site layers.
Screenshot: `console-risk.png` (also copied to docs/screenshots/ for the README).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from khusela.bootstrap import Platform
from khusela.core.gazetteer import BundledGazetteer
from khusela.demo.geodata import gauteng
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.risk import incident_log, localities, mines, register
from khusela.risk.incidents import Incidents
from khusela.risk.model import Category, EntrySpec
from tests.conftest import People, Person
from tests.e2e.conftest import WAIT_MS
from tests.e2e.test_console import CONSOLE_SIZE, open_console

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
HILLBROW = (-26.1885, 28.0470)


@pytest.fixture
def console_context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    yield ctx
    ctx.close()


def _seed(platform: Platform) -> tuple[Person, Person, dict[str, str]]:
    people = People(platform.db)
    jhb = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    tsh = people.agency(
        "City of Tshwane", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    mayor = people.user("mayor-jhb", Role.MUNICIPAL_OFFICIAL, agency_id=jhb)
    tshwane = people.user("mayor-tsh", Role.MUNICIPAL_OFFICIAL, agency_id=tsh)
    operator = people.user("operator", Role.OPERATOR)
    rng = np.random.default_rng(8)
    now = int(datetime.now(UTC).timestamp())
    lat = np.concatenate([HILLBROW[0] + rng.normal(0, 0.002, 240), rng.uniform(-26.35, -25.95, 160)])
    lon = np.concatenate([HILLBROW[1] + rng.normal(0, 0.002, 240), rng.uniform(27.85, 28.25, 160)])
    times = np.sort(now - rng.integers(0, 300 * 86_400, 400)).astype(np.int64)
    data = Incidents(times, lat, lon, np.zeros(400, dtype=np.int32), ("robbery",))
    ids = {}
    with platform.db.write() as conn:
        localities.load_bundled(conn, gauteng())
        incident_log.store_many(conn, data, BundledGazetteer())
        ours = EntrySpec(
            "JHB",
            Category.ILLEGAL_MINING,
            "Illegal mining at Riverlea",
            "Open shafts worked at night.",
            4,
            4,
            "JMPD Public Safety",
        )
        theirs = EntrySpec(
            "TSH",
            Category.UNREST,
            "Protests blocking the N4",
            "Service-delivery protests.",
            3,
            3,
            "Tshwane Disaster Management",
        )
        ids["jhb"] = register.create(conn, mayor.principal, ours)["id"]
        ids["tsh"] = register.create(conn, tshwane.principal, theirs)["id"]
        site = mines.MineSpec("Riverlea old workings", -26.2135, 27.9740, mines.MineStatus.ILLEGALLY_WORKED)
        mines.add(conn, mayor.principal, site, BundledGazetteer(), datetime.now(UTC) - timedelta(days=1))
    return mayor, operator, ids


def _open_risk(ctx: BrowserContext, person: Person) -> Page:
    page = open_console(ctx, person).page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Risk").click()
    page.wait_for_function("() => window.khusela && window.khusela.riskReady === true", timeout=WAIT_MS)
    return page


def test_an_official_edits_their_own_risk_and_reads_the_others(
    server: str, platform: Platform, console_context: BrowserContext, shots: Path
) -> None:
    mayor, operator, ids = _seed(platform)
    page = _open_risk(console_context, mayor)
    register_box = page.get_by_role("region", name="Risk register")
    rows = register_box.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Illegal mining at Riverlea")
    expect(register_box).not_to_contain_text("Protests blocking the N4")
    matrix = page.get_by_role("region", name="Risk matrix").locator("figure[data-code='JHB']")
    expect(matrix.locator("td[data-li='4'][data-im='4']")).to_have_text("1")

    # the edit: likelihood 4 → 5 makes it extreme; the history says who changed what
    page.get_by_role("button", name="Edit Illegal mining at Riverlea").click()
    editor = page.get_by_role("region", name="Edit risk")
    editor.get_by_label("Likelihood (1-5)").select_option("5")
    editor.get_by_label("Status").select_option("mitigating")
    editor.get_by_role("button", name="Add action").click()
    editor.get_by_label("Mitigation action").last.fill("Joint operation with SAPS")
    editor.get_by_label("Due date").last.fill("2027-02-28")
    editor.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("version 2, extreme")
    history = page.get_by_role("region", name="Change history")
    expect(history).to_contain_text("v2 edited by mayor-jhb")
    expect(history).to_contain_text("likelihood: 4 → 5")
    expect(history).to_contain_text("status: open → mitigating")
    expect(history).to_contain_text("v1 created by mayor-jhb")
    expect(rows.first.locator(".risk-level")).to_have_text("extreme")

    # the matrix follows: the entry moved from 4x4 to 5x4
    expect(matrix.locator("td[data-li='5'][data-im='4']")).to_have_text("1")
    expect(matrix.locator("td[data-li='4'][data-im='4']")).to_have_text("")

    # the map draws every layer
    page.wait_for_function(
        "() => { const c = window.khusela.riskLayers(); return c && c.entries >= 1 && c.hotspots >= 1 "
        "&& c.forecast >= 1 && c.mines >= 1; }",
        timeout=WAIT_MS,
    )
    page.screenshot(path=str(shots / "console-risk.png"))
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "console-risk.png", docs / "console-risk.png")

    # Tshwane's entry: the API refuses the official, whatever the page sends
    status = page.evaluate(
        """async (id) => {
            const token = sessionStorage.getItem("khusela.token");
            const r = await fetch(`/api/risk/register/${id}`, {method: "PATCH",
              headers: {"content-type": "application/json", authorization: `Bearer ${token}`},
              body: JSON.stringify({version: 1, likelihood: 1})});
            return r.status;
        }""",
        ids["tsh"],
    )
    assert status == 404
    with platform.db.read() as conn:
        assert register.get(conn, operator.principal, ids["tsh"])["likelihood"] == 3

    # a provincial operator reads both, edits neither
    other = console_context.browser.new_context(viewport=CONSOLE_SIZE, base_url=server)  # type: ignore[union-attr]
    try:
        seen = _open_risk(other, operator)
        listed = seen.get_by_role("region", name="Risk register").locator("tbody tr")
        expect(listed).to_have_count(2)
        expect(listed.filter(has_text="Protests blocking the N4")).to_have_count(1)
        expect(seen.get_by_role("button", name="Edit", exact=False)).to_have_count(0)
        expect(seen.get_by_role("button", name="New entry")).to_be_hidden()
    finally:
        other.close()
