"""The resident panic page at /panic, driven in Debian's Chromium (headless) by Playwright.

A real server runs in a thread around a platform whose SMS sender is inspectable, so the
test reads the one-time code the way a resident reads their SMS. No browser is ever
downloaded: the system's /usr/bin/chromium is used, or the tests skip (fail in CI).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, insert, select, update

from khusela.bootstrap import Platform
from khusela.core.ids import new_id
from khusela.identity.model import SYSTEM, Role
from khusela.panic.model import UnitKind
from khusela.panic.tables import alert_locations, alert_presses, alerts, assignments
from khusela.panic.units import register_unit
from tests.conftest import People
from tests.e2e.conftest import WAIT_MS, artifacts_dir, wait_for
from tests.e2e.resident import PHONE, PHONE_SIZE, Phone, phone_in_hillbrow, sign_in
from tests.panic_support import HILLBROW

pytestmark = pytest.mark.slow

SHOTS = artifacts_dir()


@pytest.fixture
def resident(platform: Platform) -> str:
    return People(platform.db).user("nomsa", Role.RESIDENT, phone=PHONE).principal.user_id


def _alerts(platform: Platform) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(alerts))]


def _count(platform: Platform, table: Any) -> int:
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _dispatch(platform: Platform, alert_id: str, callsign: str, eta_seconds: int) -> None:
    """Stand in for the operator: a unit is assigned with its ETA (the resident's view only
    reads the assignment and the alert's status)."""
    people = People(platform.db)
    agency = people.agency("SAPS Hillbrow")
    now = datetime.now(UTC)
    with platform.db.write() as conn:
        unit = register_unit(
            conn,
            SYSTEM,
            agency_id=agency,
            callsign=callsign,
            kind=UnitKind.POLICE_VEHICLE,
            lat=-26.195,
            lon=28.04,
        )
        conn.execute(
            insert(assignments).values(
                id=new_id(),
                alert_id=alert_id,
                unit_id=unit.id,
                status="assigned",
                eta_seconds=eta_seconds,
                assigned_at=now,
            )
        )
        conn.execute(
            update(alerts).where(alerts.c.id == alert_id).values(status="dispatched", dispatched_at=now)
        )


def test_resident_signs_in_presses_and_follows_the_alert(
    phone: Phone, platform: Platform, resident: str
) -> None:
    page = phone.context.new_page()
    sign_in(page, platform)
    panic = page.get_by_role("button", name=re.compile("PANIC"))
    box = panic.bounding_box()
    assert box is not None
    assert box["width"] >= 0.6 * PHONE_SIZE["width"], "the button is usable with one thumb"
    assert box["y"] + box["height"] <= PHONE_SIZE["height"], "the button is on the first screen"
    page.screenshot(path=SHOTS / "panic-page.png")

    # a cancel PIN, set once in the settings
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("New cancel PIN").fill("2468")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.get_by_role("button", name="Back").click()

    page.get_by_role("radio", name="Medical").check()
    panic.click()
    status = page.get_by_role("status").filter(has=page.locator("#status-title"))
    expect(status).to_have_attribute("aria-live", "assertive")
    expect(status).to_contain_text("Help is being arranged", timeout=WAIT_MS)
    [alert] = _alerts(platform)
    assert alert["resident_id"] == resident
    assert alert["type"] == "medical"
    assert alert["channel"] == "app"
    assert alert["location_unknown"] is False
    assert alert["lat"] == pytest.approx(HILLBROW[0], abs=1e-4)
    assert alert["lon"] == pytest.approx(HILLBROW[1], abs=1e-4)
    assert alert["municipality"] == "JHB"
    expect(page.locator("#where")).to_contain_text("Sent")

    _dispatch(platform, alert["id"], "HB-P12", eta_seconds=420)
    expect(status).to_contain_text("Help is on the way", timeout=WAIT_MS)
    expect(page.locator("#unit")).to_have_text("HB-P12")
    expect(page.locator("#eta")).to_have_text("in about 7 minutes")
    page.screenshot(path=SHOTS / "panic-status.png")

    page.get_by_role("button", name="Cancel alert").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Enter your cancel PIN").fill("1111")
    dialog.get_by_role("button", name="Cancel alert").click()
    expect(dialog.get_by_role("alert")).to_have_text("Wrong PIN.")
    dialog.get_by_label("Enter your cancel PIN").fill("2468")
    dialog.get_by_role("button", name="Cancel alert").click()
    expect(status).to_contain_text("Alert cancelled", timeout=WAIT_MS)
    assert _alerts(platform)[0]["status"] == "cancelled"
    page.get_by_role("button", name="Done").click()
    expect(panic).to_be_visible()


def test_offline_press_is_queued_and_arrives_once_when_the_network_returns(
    phone: Phone, platform: Platform, resident: str
) -> None:
    page = phone.context.new_page()
    sign_in(page, platform)
    phone.context.set_offline(True)
    expect(page.get_by_text("Offline", exact=True)).to_be_visible()
    page.get_by_role("button", name=re.compile("PANIC")).focus()
    page.keyboard.press("Enter")  # a real button: the keyboard presses it too
    status = page.locator("#status")
    expect(status).to_contain_text("Waiting for network", timeout=WAIT_MS)

    def saved() -> Any:
        return page.evaluate("JSON.parse(localStorage.getItem('khusela.panic.pending'))")

    assert saved()["type"] == "crime", "a press with no choice is a crime alert"
    wait_for(lambda: saved()["fix"] is not None, "the fix was not kept with the queued alert")
    assert saved()["fix"]["lat"] == pytest.approx(HILLBROW[0])
    time.sleep(2.5)  # a few retries fail meanwhile
    assert _count(platform, alerts) == 0

    phone.context.set_offline(False)
    expect(status).to_contain_text("Help is being arranged", timeout=WAIT_MS)
    time.sleep(1.5)  # any stray retry would have landed by now
    [alert] = _alerts(platform)
    assert alert["type"] == "crime"
    assert alert["presses"] == 1
    assert alert["location_unknown"] is False
    assert _count(platform, alert_presses) == 1
    assert page.evaluate("localStorage.getItem('khusela.panic.pending')") is None


def test_a_slow_fix_does_not_hold_the_alert_and_follows_as_an_update(
    browser: Browser, server: str, platform: Platform, resident: str
) -> None:
    """The fix takes 5 s: the alert goes after 3 s without it, the fix follows."""
    slow = phone_in_hillbrow(browser, server, slow_fix_s=5)
    try:
        page = slow.context.new_page()
        sign_in(page, platform)
        page.get_by_role("button", name=re.compile("PANIC")).click()
        pressed = time.monotonic()
        wait_for(lambda: _count(platform, alerts) == 1, "the alert did not go without its fix")
        assert time.monotonic() - pressed < 4.5, "the press waited for the fix"
        [alert] = _alerts(platform)
        assert alert["location_unknown"] is True
        expect(page.locator("#status")).to_contain_text("Help is being arranged", timeout=WAIT_MS)
        wait_for(lambda: _count(platform, alert_locations) >= 1, "the late fix was not sent")
        [alert] = _alerts(platform)
        assert alert["location_unknown"] is False
        assert alert["lat"] == pytest.approx(HILLBROW[0], abs=1e-4)
        expect(page.locator("#where")).to_contain_text("Sent")
    finally:
        slow.context.close()


def test_the_page_asks_no_other_host_and_breaks_no_csp_rule(
    phone: Phone, platform: Platform, resident: str, server: str
) -> None:
    problems: list[str] = []
    page = phone.context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, platform)
    page.get_by_role("button", name=re.compile("PANIC")).click()
    expect(page.locator("#status")).to_contain_text("Help is being arranged", timeout=WAIT_MS)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    expect(page.locator("#status")).to_contain_text("Help is being arranged", timeout=WAIT_MS)
    time.sleep(3.5)  # one status poll after the reload
    here = urlsplit(server).netloc
    assert any(urlsplit(u).path == "/api/panic/alerts" for u in phone.requested), phone.requested
    foreign = [
        u for u in phone.requested if urlsplit(u).netloc != here and not u.startswith(("data:", "blob:"))
    ]
    assert foreign == []
    assert problems == []


def test_the_page_starts_offline_from_its_service_worker(
    phone: Phone, platform: Platform, resident: str, server: str
) -> None:
    page_response = httpx.get(f"{server}/panic")
    assert page_response.headers["cache-control"] == "no-cache"
    assert page_response.headers["content-type"].startswith("text/html")
    worker = httpx.get(f"{server}/panic/sw.js")
    assert worker.headers["service-worker-allowed"] == "/panic"
    assert worker.headers["content-type"].startswith("text/javascript")
    manifest = httpx.get(f"{server}/panic/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    icons = manifest.json()["icons"]
    assert {i["sizes"] for i in icons} >= {"192x192", "512x512"}
    for icon in icons:
        assert httpx.get(f"{server}{icon['src']}").status_code == 200

    page = phone.context.new_page()
    sign_in(page, platform)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    wait_for(
        lambda: bool(page.evaluate("navigator.serviceWorker.controller !== null")),
        "the service worker never took control of the page",
    )
    phone.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("button", name=re.compile("PANIC"))).to_be_visible()
    expect(page.get_by_text("Offline", exact=True)).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(11, 13, 16)"


def test_a_duress_pin_looks_like_a_cancel_but_the_fixes_keep_coming(
    phone: Phone, platform: Platform, resident: str
) -> None:
    page = phone.context.new_page()
    sign_in(page, platform)
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("New cancel PIN").fill("2468")
    page.get_by_label("Duress PIN").fill("1357")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name=re.compile("PANIC")).click()
    status = page.locator("#status")
    expect(status).to_contain_text("Help is being arranged", timeout=WAIT_MS)
    fixes = _count(platform, alert_locations)

    page.get_by_role("button", name="Cancel alert").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Enter your cancel PIN").fill("1357")
    dialog.get_by_role("button", name="Cancel alert").click()
    expect(status).to_contain_text("Alert cancelled", timeout=WAIT_MS)
    [alert] = _alerts(platform)
    assert alert["duress"] is True
    assert alert["status"] == "new", "the alert is still open for the command centre"
    wait_for(lambda: _count(platform, alert_locations) > fixes, "no fix followed the duress PIN")
