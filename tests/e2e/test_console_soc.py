"""The console's SOC panel (#/soc) in Debian's Chromium, against a live server running the
real detection pipeline: Windows logon failures ingested as JSON lines become brute-force
alerts that arrive live; an analyst filters, reads the raw events, opens a case and writes
in its timeline, proposes a block that only a second analyst may approve; a reported
e-mail from the phishing corpus shows its reasons and takes the analyst's verdict; and an
operator without `cyber.read` never sees the panel.
Screenshots: `console-soc.png` (also copied to docs/screenshots/ for the README) and
`console-soc-{case,actions,phishing}.png` in the artifacts folder.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from khusela.bootstrap import Platform
from khusela.cyber.soc.pipeline import pipeline_of
from khusela.identity.model import Role
from tests.conftest import People, Person
from tests.e2e.conftest import WAIT_MS, wait_for
from tests.e2e.test_console import CONSOLE_SIZE, Console, open_console

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PHISH = REPO.parent / "shared" / "data" / "cyber" / "phishing" / "phish" / "sample-1.eml"
ATTACKER = "203.0.113.50"
DC = "dc01.gauteng.local"
OTHER_ATTACKER = "198.51.100.23"
WEB = "web01.gauteng.local"
SCANNER = "192.0.2.10"


@pytest.fixture
def console_context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    yield ctx
    ctx.close()


def api_as(server: str, person: Person) -> httpx.Client:
    """An HTTP client signed in as `person` (a log shipper or a member of staff)."""
    client = httpx.Client(base_url=server, timeout=10)
    answer = client.post("/api/auth/login", json=person.login_body())
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client


def windows_logon_failures(source: str, computer: str, count: int = 8) -> str:
    """Windows Security 4625 (an account failed to log on), as a shipper sends JSON lines."""
    return "\n".join(
        json.dumps(
            {
                "Channel": "Security",
                "EventID": 4625,
                "Computer": computer,
                "TimeCreated": f"2026-11-22T10:00:{i:02d}Z",
                "IpAddress": source,
                "TargetUserName": "administrator",
            }
        )
        for i in range(count)
    )


def open_soc(ctx: BrowserContext, person: Person) -> Console:
    """Sign in, follow the menu's SOC entry, and wait for the panel's live feed."""
    console = open_console(ctx, person)
    page = console.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SOC").click()
    expect(page.get_by_role("tab", name="Alert queue")).to_have_attribute("aria-selected", "true")
    page.wait_for_function("() => window.khusela.soc && window.khusela.soc.feedReady", timeout=WAIT_MS)
    return console


def queue_rows(page: Page) -> Any:
    return page.get_by_role("table", name="Alert queue").locator("tbody tr")


def test_an_analyst_works_an_alert_from_arrival_to_a_case_and_an_approved_block(
    server: str, platform: Platform, browser: Browser, console_context: BrowserContext, shots: Path
) -> None:
    people = People(platform.db)
    lerato = people.user("lerato", Role.SOC_ANALYST)
    sipho = people.user("sipho", Role.SOC_ANALYST)
    shipper = api_as(server, people.user("winlogbeat", Role.ADMIN))  # its own sign-in (codes are one-use)
    wait_for(lambda: pipeline_of(platform).ready, "the detection pipeline is ready")

    console = open_soc(console_context, lerato)
    page = console.page
    page.evaluate("window.__sameDocument = true")
    expect(page.get_by_text("No alerts match.")).to_be_visible()

    # events arrive over HTTP; the brute-force alerts appear live, highlighted, with the rule's author
    for source, computer in ((ATTACKER, DC), (OTHER_ATTACKER, WEB)):
        answer = shipper.post(
            "/api/cyber/ingest",
            content=windows_logon_failures(source, computer),
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == 8
    rows = queue_rows(page)
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    ours = rows.filter(has_text=ATTACKER)
    expect(ours).to_have_class(re.compile(r"\bis-new\b"))
    expect(ours).to_contain_text("Khusela correlation")
    expect(ours).to_contain_text(DC)
    expect(ours).to_contain_text("high")
    expect(ours.locator("td.soc-num")).to_have_text("8")
    assert page.evaluate("window.__sameDocument") is True, "no reload: the feed brought them"

    # filters: by host, then by severity (several may be ticked)
    page.get_by_label("Host").fill(DC)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ATTACKER)
    page.get_by_label("medium").check()
    expect(rows).to_have_count(0)
    page.get_by_label("high").check()
    expect(rows).to_have_count(1)
    page.get_by_label("medium").uncheck()
    expect(rows).to_have_count(1)

    # the alert's detail: ATT&CK tags and its matching events, raw
    rows.first.click()
    detail = page.get_by_role("complementary", name="Alert detail")
    expect(detail.get_by_role("heading", level=3)).to_be_focused()
    expect(detail.get_by_role("list", name="ATT&CK tags")).to_contain_text("T1110.001")
    events = detail.get_by_role("list", name="Matching events")
    expect(events.locator("pre.soc-raw").first).to_contain_text(ATTACKER)
    expect(events.locator("pre.soc-raw").first).to_contain_text("4625")
    page.get_by_label("Host").fill("")
    page.get_by_label("high").uncheck()
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=ATTACKER)).to_have_attribute("aria-selected", "true")
    page.screenshot(path=str(shots / "console-soc.png"))
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "console-soc.png", docs / "console-soc.png")

    # a case from it (ticked in the queue); a note; the timeline tells the story with the raw events
    new_case = page.get_by_role("button", name="New case from selected alerts")
    expect(new_case).to_be_disabled()
    rows.filter(has_text=ATTACKER).get_by_role("checkbox").check()
    expect(new_case).to_be_enabled()
    new_case.click()
    expect(page.get_by_role("tab", name="Cases")).to_have_attribute("aria-selected", "true")
    case = page.get_by_role("region", name=re.compile("Brute"))
    timeline = case.get_by_role("list", name="Case timeline")
    expect(timeline).to_contain_text("Opened")
    expect(timeline).to_contain_text("Alert added")
    expect(timeline.locator(".soc-tl-event pre").first).to_contain_text(ATTACKER)
    case.get_by_role("textbox", name="Note").fill("Source is a known VPS range; <b>not</b> ours")
    case.get_by_role("button", name="Add note").click()
    note = timeline.locator(".soc-tl-note")
    expect(note).to_contain_text("Source is a known VPS range; <b>not</b> ours")
    expect(note).to_contain_text("lerato")
    case.get_by_label("Status", exact=True).select_option("investigating")
    case.get_by_role("button", name="Save changes").click()
    expect(timeline.locator(".soc-tl-status")).to_have_count(1)
    cases = page.get_by_role("table", name="Cases")
    expect(cases.locator("tbody tr").first).to_contain_text("investigating")
    expect(cases.locator("tbody tr").first.locator("td.soc-num")).to_have_text("1")

    # the other host's alert joins the same case
    page.get_by_role("tab", name="Alert queue").click()
    rows.filter(has_text=OTHER_ATTACKER).click()
    expect(detail.get_by_role("heading", level=3)).to_be_focused()
    expect(detail).to_contain_text(WEB)
    detail.get_by_role("button", name="Add to case…").click()
    expect(detail.get_by_label("Case", exact=True)).to_contain_text("investigating")
    detail.get_by_role("button", name="Add to case", exact=True).click()
    expect(detail.get_by_role("button", name="Open the case")).to_be_visible()
    expect(rows.filter(has_text=OTHER_ATTACKER)).to_contain_text("in case")
    page.get_by_role("tab", name="Cases").click()
    expect(cases.locator("tbody tr").first.locator("td.soc-num")).to_have_text("2")

    # propose a block of the source IP from the alert
    page.get_by_role("tab", name="Alert queue").click()
    rows.filter(has_text=ATTACKER).click()
    detail.get_by_role("button", name="Propose block of source IP…").click()
    detail.get_by_role("button", name=f"Propose block of {ATTACKER}").click()
    expect(detail.get_by_text(f"Block of {ATTACKER}/32 proposed")).to_be_visible()
    expect(page.get_by_role("tab", name="Response actions")).to_contain_text("1")

    # the proposer may not approve: the API's reason is shown
    page.get_by_role("tab", name="Response actions").click()
    awaiting = page.get_by_role("list", name="Awaiting approval")
    card = awaiting.get_by_role("listitem")
    expect(card).to_have_count(1)
    card.get_by_role("button", name=re.compile("^Approve")).click()
    expect(card.get_by_role("alert")).to_contain_text("a second analyst must approve")

    # a second analyst, in another browser, approves; the first sees it go active, live
    other = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    try:
        second = open_soc(other, sipho).page
        second.get_by_role("tab", name="Response actions").click()
        second.get_by_role("list", name="Awaiting approval").get_by_role(
            "button", name=re.compile("^Approve")
        ).click()
        expect(second.get_by_text("Nothing waits for approval.")).to_be_visible()
    finally:
        other.close()
    expect(awaiting.get_by_role("listitem")).to_have_count(0, timeout=WAIT_MS)
    active = page.get_by_role("table", name="Response actions").locator("tbody tr").first
    expect(active).to_contain_text("active")
    expect(active).to_contain_text("sipho")
    expect(active.locator(".soc-expiry")).to_have_text(re.compile(r"^in 23 h 5\d min$"))
    expect(active.get_by_role("button", name=re.compile("^Revert"))).to_be_visible()
    expect(active.get_by_role("alert")).to_have_count(0)  # the refusal was about the proposed state
    page.screenshot(path=str(shots / "console-soc-actions.png"))
    page.get_by_role("tab", name="Cases").click()
    expect(timeline.locator(".soc-tl-action")).to_contain_text(f"block ip {ATTACKER}/32: active")
    page.screenshot(path=str(shots / "console-soc-case.png"))
    assert page.evaluate("window.__sameDocument") is True
    # the one error the browser logs is the refused approval (403), which was shown above
    assert [p for p in console.problems if "403 (Forbidden)" not in p] == []


def test_a_reported_email_shows_its_reasons_and_takes_the_analysts_verdict(
    server: str, platform: Platform, console_context: BrowserContext, shots: Path
) -> None:
    people = People(platform.db)
    lerato = people.user("lerato", Role.SOC_ANALYST)
    clerk = api_as(server, people.user("nomsa", Role.MUNICIPAL_OFFICIAL))
    console = open_soc(console_context, lerato)
    page = console.page

    reported = clerk.post(
        "/api/cyber/phishing/reports",
        content=PHISH.read_bytes(),
        headers={"Content-Type": "message/rfc822"},
    )
    assert reported.status_code == 201, reported.text
    verdict = reported.json()
    assert verdict["verdict"] == "phishing"
    # flagged mail lands in the queue, live
    expect(queue_rows(page).filter(has_text="BRADESCO")).to_have_count(1, timeout=WAIT_MS)

    page.get_by_role("tab", name="Phishing reports").click()
    expect(page.get_by_text("Analyser accuracy: no report reviewed yet.")).to_be_visible()
    reports = page.get_by_role("table", name="Reported e-mails").locator("tbody tr")
    expect(reports).to_have_count(1)
    expect(reports.first).to_contain_text("phishing")
    expect(reports.first).to_contain_text("nomsa")
    expect(reports.first).to_contain_text("not reviewed")
    reports.first.click()
    view = page.get_by_role("region", name=re.compile("BRADESCO"))
    reasons = view.get_by_role("list", name="Reasons")
    expect(reasons.get_by_role("listitem")).to_have_count(len(verdict["reasons"]))
    expect(reasons).to_contain_text(verdict["reasons"][0])
    view.get_by_role("group", name="Analyst verdict").get_by_role("button", name="phishing").click()
    expect(reports.first.locator("td").last).to_have_text("phishing")
    expect(view.get_by_role("button", name="phishing")).to_have_attribute("aria-pressed", "true")
    accuracy = page.get_by_text(re.compile(r"on 1 reviewed reports: agreement 100 %, recall 100 %"))
    expect(accuracy).to_be_visible()
    page.screenshot(path=str(shots / "console-soc-phishing.png"))
    assert console.problems == []


def test_an_operator_without_cyber_read_has_no_soc_panel(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    operator = People(platform.db).user("thandi", Role.OPERATOR)
    page = open_console(console_context, operator).page
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    expect(menu.get_by_role("link", name="SOC")).to_have_count(0)
    page.evaluate("location.hash = '#/soc'")
    expect(page.get_by_text("Your role does not include the SOC")).to_be_visible()
    expect(page.locator(".soc")).to_have_count(0)


def test_a_false_positive_excepts_one_source_which_is_listed_with_its_hits_and_revoked(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    people = People(platform.db)
    shipper = api_as(server, people.user("winlogbeat", Role.ADMIN))
    wait_for(lambda: pipeline_of(platform).ready, "the detection pipeline is ready")
    console = open_soc(console_context, people.user("lerato", Role.SOC_ANALYST))
    page = console.page

    def ingest() -> None:
        answer = shipper.post(
            "/api/cyber/ingest",
            content=windows_logon_failures(SCANNER, DC),
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert answer.status_code == 202, answer.text

    ingest()
    rows = queue_rows(page)
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    rows.first.click()
    detail = page.get_by_role("complementary", name="Alert detail")
    detail.get_by_role("button", name="Acknowledge").click()
    expect(rows.first.locator("td").last).to_have_text("acknowledged")
    expect(detail.get_by_role("button", name="Acknowledge")).to_be_disabled()
    detail.get_by_role("button", name="False positive…").click()
    form = detail.get_by_role("form", name="Mark false positive")
    form.get_by_label("Stop alerting on this rule for").select_option("source")
    form.get_by_label("Reason").fill("the vulnerability scanner")
    form.get_by_role("button", name="Mark false positive").click()
    expect(rows).to_have_count(0)  # the queue shows open alerts: it left
    page.get_by_role("region", name="Alert queue").get_by_label("Status").select_option("false_positive")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("false positive")

    ingest()  # the same source again: suppressed, counted on the exception
    exceptions = page.get_by_role("table", name="Exceptions").locator("tbody tr")
    page.get_by_role("tab", name="Exceptions").click()
    expect(exceptions).to_have_count(1)
    expect(exceptions.first).to_contain_text(f"{SCANNER}/32")
    expect(exceptions.first).to_contain_text("the vulnerability scanner")
    for _ in range(50):  # the pipeline counts the hit a moment after the ingest answered
        page.get_by_role("tab", name="Alert queue").click()
        page.get_by_role("tab", name="Exceptions").click()
        if exceptions.first.locator("td.soc-num").inner_text() == "8":
            break
        page.wait_for_timeout(200)
    expect(exceptions.first.locator("td.soc-num")).to_have_text("8")
    exceptions.first.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(exceptions.first).to_contain_text("revoked")
    expect(exceptions.first.get_by_role("button")).to_have_count(0)

    # nothing new was raised for the excepted source, in any status
    page.get_by_role("tab", name="Alert queue").click()
    page.get_by_role("region", name="Alert queue").get_by_label("Status").select_option("")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.soc-num")).to_have_text("8")
    assert console.problems == []
