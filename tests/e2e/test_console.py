"""The operator's live console at `/`, driven in Debian's Chromium (headless) by Playwright:
the queue fills from the live feed without a reload, the keyboard alone works the queue,
a role without the console never sees it, and 2,000 alerts with 5,000 units render fast.

Screenshots (`console-live.png`, `console-detail.png`) are saved to the artifacts folder.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, ViewportSize, expect
from sqlalchemy import select

from khusela.bootstrap import Platform
from khusela.demo.geodata import gauteng
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic import avl
from khusela.panic.escalation import EscalationKind, Targets, escalate
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel, UnitKind
from khusela.panic.tables import alert_timeline, alerts, assignments
from khusela.panic.units import register_unit
from tests.conftest import People, Person
from tests.e2e.conftest import WAIT_MS, wait_for
from tests.e2e.resident import PHONE, phone_in_hillbrow, sign_in
from tests.panic_support import HILLBROW

pytestmark = pytest.mark.slow

CONSOLE_SIZE: ViewportSize = {"width": 1920, "height": 1080}
HILLBROW_STATION = next(s for s in gauteng().stations if s.name == "Hillbrow")


@dataclass
class Console:
    """An operator's browser tab on the console, with what went wrong in it."""

    page: Page
    problems: list[str]


@pytest.fixture
def console_context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    yield ctx
    ctx.close()


def open_console(ctx: BrowserContext, person: Person) -> Console:
    """Sign `person` in on `/` (password and authenticator code) and wait for the first view."""
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    body = person.login_body()
    page.get_by_label("Username").fill(body["username"])
    page.get_by_label("Password").fill(body["password"])
    page.get_by_label("Authenticator code").fill(body["totp"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return Console(page, problems)


def wait_ready(page: Page) -> dict[str, Any]:
    """The console's own measure of its first full render (queue and map markers)."""
    ready: dict[str, Any] = page.evaluate("window.khusela.ready")
    expect(page.locator("#connection")).to_have_text("Live", timeout=WAIT_MS)
    return ready


def queue(page: Page) -> Locator:
    return page.get_by_role("listbox", name="Open alerts")


def raise_direct(
    platform: Platform,
    n: int,
    kind: AlertType,
    where: tuple[float, float] | None,
    *,
    silent: bool = False,
) -> str:
    """An alert from site device `n` (as if pressed), committed and announced to the feed."""
    command = RaisePanicAlert(
        type=kind,
        channel=Channel.APP,
        sender=f"device:{n}",
        lat=None if where is None else where[0],
        lon=None if where is None else where[1],
        accuracy_m=None if where is None else 25.0,
        silent=silent,
    )
    with platform.db.write() as conn:
        alert_id = str(raise_alert(conn, command, platform.gazetteer).alert["id"])
    platform.relay.notify()
    return alert_id


def units_near_hillbrow(platform: Platform, people: People) -> list[str]:
    """Four SAPS Hillbrow vehicles around the station, each with a position 5 s old."""
    saps = people.agency(
        "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(cells=HILLBROW_STATION.precinct)
    )
    offsets = [(0.004, 0.002), (-0.006, 0.004), (0.009, -0.007), (-0.012, -0.01)]
    made = []
    at = datetime.now(UTC) - timedelta(seconds=5)
    with platform.db.write() as conn:
        for i, (dlat, dlon) in enumerate(offsets, start=1):
            lat, lon = HILLBROW[0] + dlat, HILLBROW[1] + dlon
            unit = register_unit(
                conn,
                SYSTEM,
                agency_id=saps,
                callsign=f"HB-P{i}",
                kind=UnitKind.POLICE_VEHICLE,
                lat=lat,
                lon=lon,
            )
            avl.report_location(conn, "test", unit.id, lat, lon, 8.0, at, gazetteer=platform.gazetteer)
            made.append(unit.id)
    platform.relay.notify()
    return made


def alert_row(platform: Platform, alert_id: str) -> dict[str, Any]:
    with platform.db.read() as conn:
        return dict(conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()._mapping)


def test_a_residents_press_reaches_the_operators_queue_within_two_seconds(
    browser: Browser, server: str, platform: Platform, console_context: BrowserContext
) -> None:
    people = People(platform.db)
    operator = people.user("thandi", Role.OPERATOR)
    people.user("nomsa", Role.RESIDENT, phone=PHONE)
    console = open_console(console_context, operator)
    page = console.page
    ready = wait_ready(page)
    assert ready["alerts"] == 0
    expect(page.get_by_text("No open alerts.")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    phone = phone_in_hillbrow(browser, server)
    try:
        resident = phone.context.new_page()
        sign_in(resident, platform)
        resident.get_by_role("radio", name="Medical").check()
        with resident.expect_response(
            lambda r: r.url.endswith("/api/panic/alerts") and r.request.method == "POST"
        ) as answer:
            resident.get_by_role("button", name=re.compile("PANIC")).click()
        accepted = time.monotonic()
        assert answer.value.status == 201
        row = queue(page).get_by_role("option")
        expect(row).to_have_count(1, timeout=2000)
        seen = time.monotonic() - accepted
        assert seen <= 2.0, f"the alert reached the queue after {seen:.2f} s"
    finally:
        phone.context.close()

    expect(row).to_contain_text("Medical")
    expect(row).to_contain_text("NEW")
    expect(row).to_have_class(re.compile(r"\bis-new\b"))
    expect(row).to_contain_text(re.compile(r"ack \d:\d\d"))
    assert page.evaluate("window.__sameDocument") is True, "the console reloaded"
    applied = page.evaluate("window.khusela.applied")
    raised = [a for a in applied if a["subject"] == "panic.alert_raised"]
    assert len(raised) == 1
    assert raised[0]["appliedAt"] >= raised[0]["receivedAt"]
    [stored] = [alert_row(platform, raised[0]["id"])]
    assert stored["type"] == "medical"
    # the age counts up every second without any event
    first = row.locator(".qrow-age").inner_text()
    expect(row.locator(".qrow-age")).not_to_have_text(first, timeout=3000)
    assert console.problems == []


@pytest.mark.parametrize("role", [Role.MUNICIPAL_OFFICIAL, Role.SOC_ANALYST])
def test_a_role_without_the_console_never_sees_the_live_picture(
    role: Role, server: str, platform: Platform, console_context: BrowserContext
) -> None:
    people = People(platform.db)
    person = people.user("zanele", role)
    raise_direct(platform, 1, AlertType.CRIME, HILLBROW)
    page = open_console(console_context, person).page
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    expect(menu.get_by_role("link", name="Live picture")).to_have_count(0)
    if role is Role.MUNICIPAL_OFFICIAL:
        expect(menu.get_by_role("link", name="KPIs")).to_be_visible()

    page.evaluate("location.hash = '#/live'")
    expect(page.get_by_text("Your role does not include the operator console")).to_be_visible()
    expect(page.locator(".leaflet-container")).to_have_count(0)
    expect(page.get_by_role("listbox")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("Your role does not include the operator console")).to_be_visible()

    token = page.evaluate("sessionStorage.getItem('khusela.token')")
    assert token
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server}/api/me", headers=headers).status_code == 200
    refused = httpx.get(f"{server}/api/panic/alerts", headers=headers)
    assert refused.status_code == 403, refused.text


def test_the_keyboard_alone_works_the_queue(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    people = People(platform.db)
    operator = people.user("thandi", Role.OPERATOR)
    silent = raise_direct(platform, 1, AlertType.CRIME, HILLBROW, silent=True)  # P1
    crime = raise_direct(platform, 2, AlertType.CRIME, (HILLBROW[0] + 0.01, HILLBROW[1]))  # P2
    other = raise_direct(platform, 3, AlertType.OTHER, (HILLBROW[0] - 0.01, HILLBROW[1]))  # P3
    page = open_console(console_context, operator).page
    wait_ready(page)
    rows = queue(page).get_by_role("option")
    expect(rows).to_have_count(3)
    selected = queue(page).locator("[role=option][aria-selected=true]")

    def expect_selected(alert_id: str) -> None:
        expect(selected).to_have_count(1)
        expect(selected).to_have_attribute("id", f"alert-{alert_id}")

    page.keyboard.press("j")
    expect_selected(silent)
    page.keyboard.press("j")
    expect_selected(crime)
    page.keyboard.press("ArrowDown")
    expect_selected(other)
    page.keyboard.press("k")
    expect_selected(crime)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("j")
    expect_selected(crime)

    page.keyboard.press("Enter")
    detail = page.get_by_role("complementary", name="P2 Crime")
    expect(detail).to_be_visible()
    expect(detail.get_by_role("button", name="Acknowledge")).to_be_visible()
    page.keyboard.press("a")
    wait_for(lambda: alert_row(platform, crime)["status"] == "acknowledged", "`a` did not acknowledge")
    assert alert_row(platform, silent)["status"] == "new"
    expect(selected).to_contain_text("Acknowledged")
    expect(selected).to_contain_text(re.compile(r"on scene \d+:\d\d"))
    expect(detail.get_by_role("button", name="Acknowledge")).to_have_count(0)

    # the shortcuts are not taken while typing a note
    note = detail.get_by_label("Add a note")
    note.fill("")
    note.press_sequentially("jak")
    expect(note).to_have_value("jak")
    expect_selected(crime)
    page.keyboard.press("Escape")  # leaves the field
    page.keyboard.press("Escape")  # closes the detail
    expect(page.locator(".detail-panel")).to_be_hidden()
    expect_selected(crime)

    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("acknowledge the selected alert")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("k")
    expect_selected(silent)

    # the token is revoked elsewhere: the next request answers 401 and the console asks to sign in
    token = page.evaluate("sessionStorage.getItem('khusela.token')")
    revoked = httpx.post(f"{server}/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code in (200, 204), revoked.text
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="You were signed out")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('khusela.token')") is None


def test_live_picture_and_alert_detail_with_dispatch_and_notes(
    server: str, platform: Platform, console_context: BrowserContext, shots: Path
) -> None:
    people = People(platform.db)
    operator = people.user("thandi", Role.OPERATOR)
    units = units_near_hillbrow(platform, people)
    crime = raise_direct(platform, 1, AlertType.CRIME, (HILLBROW[0] + 0.002, HILLBROW[1] + 0.001))
    raise_direct(platform, 2, AlertType.MEDICAL, (HILLBROW[0] - 0.03, HILLBROW[1] + 0.04))
    gbv = raise_direct(platform, 3, AlertType.GBV, (HILLBROW[0] + 0.05, HILLBROW[1] - 0.02), silent=True)
    unknown = raise_direct(platform, 4, AlertType.OTHER, None)
    console = open_console(console_context, operator)
    page = console.page
    ready = wait_ready(page)
    assert ready == {**ready, "alerts": 4, "units": 4}
    assert ready["renderMs"] <= 2000
    rows = queue(page).get_by_role("option")
    expect(rows).to_have_count(4)
    expect(page.locator(f"#alert-{unknown}")).to_contain_text("Location unknown — get a location")
    expect(page.get_by_role("button", name="1 without a location")).to_be_visible()
    expect(page.locator(".leaflet-control-layers")).to_contain_text("H3 grid")

    # the acknowledgement target passes for the silent alarm: the feed marks its row
    later = datetime.now(UTC) + timedelta(seconds=Targets().ack_seconds + 1)
    with platform.db.write() as conn:
        assert escalate(conn, gbv, EscalationKind.UNACKNOWLEDGED, later, Targets(), platform.gazetteer)
    platform.relay.notify()
    expect(page.locator(f"#alert-{gbv}")).to_contain_text("Escalated: ack", timeout=WAIT_MS)
    expect(page.locator(f"#alert-{gbv}")).to_have_class(re.compile(r"\bis-escalated\b"))
    page.reload()  # a console that reloads still shows what escalated before
    expect(page.locator(f"#alert-{gbv}")).to_contain_text("Escalated: ack", timeout=WAIT_MS)
    expect(page.locator(".leaflet-overlay-pane canvas").first).to_be_visible()
    page.wait_for_timeout(600)  # the map's canvases settle
    page.screenshot(path=shots / "console-live.png")

    page.locator(f"#alert-{crime}").click()
    detail = page.get_by_role("complementary", name="P2 Crime")
    expect(detail).to_be_visible()
    recommended = detail.get_by_role("button", name=re.compile(r"^Dispatch HB-P\d \(ETA \d+ min\)$"))
    expect(recommended).to_have_count(4)
    expect(detail.get_by_role("button", name=re.compile("^Dispatch HB-P1 "))).to_be_visible()
    expect(detail).to_contain_text("Location")
    page.wait_for_timeout(700)  # the map has flown to the alert
    page.screenshot(path=shots / "console-detail.png")

    detail.get_by_label("Add a note").fill("Caller says two men at the gate.")
    detail.get_by_role("button", name="Add note").click()
    expect(detail.locator(".timeline")).to_contain_text("Caller says two men at the gate.")
    with platform.db.read() as conn:
        query = select(alert_timeline.c.kind).where(alert_timeline.c.alert_id == crime)
        kinds = list(conn.execute(query).scalars())
    assert "note" in kinds

    page.keyboard.press("d")  # the top recommended unit
    expect(page.locator(f"#alert-{crime}")).to_contain_text("Dispatched", timeout=WAIT_MS)
    with platform.db.read() as conn:
        [assignment] = [dict(r._mapping) for r in conn.execute(select(assignments))]
    assert assignment["alert_id"] == crime
    assert assignment["unit_id"] == units[0], "HB-P1 is the nearest unit"
    expect(detail.locator(".timeline")).to_contain_text("Unit dispatched")

    assert console.problems == []

    # a refused action shows the server's own words in the alert region
    with page.expect_response(lambda r: r.url.endswith("/acknowledge")) as refused:
        page.keyboard.press("a")
    assert refused.value.status == 409
    expect(page.get_by_role("alert").filter(has_text=refused.value.json()["detail"])).to_be_visible()


def _synthetic_lists(n_alerts: int, n_units: int) -> tuple[bytes, bytes]:
    now = datetime.now(UTC)
    alerts_out = []
    for i in range(n_alerts):
        created = (now - timedelta(seconds=i * 3)).isoformat()
        unknown = i % 50 == 0
        alerts_out.append(
            {
                "id": f"a-{i:05d}",
                "status": ["new", "acknowledged", "dispatched", "on_scene"][i % 4],
                "priority": 1 + i % 4,
                "type": ["crime", "medical", "fire", "gbv", "accident", "other"][i % 6],
                "channel": "app",
                "silent": False,
                "duress": False,
                "presses": 1,
                "location_unknown": unknown,
                "outside_coverage": False,
                "lat": None if unknown else -26.6 + (i % 97) * 0.011,
                "lon": None if unknown else 27.7 + (i // 97) * 0.05,
                "accuracy_m": 20.0,
                "location_source": "gps",
                "location_at": created,
                "location_text": None,
                "province": "GP",
                "municipality": "JHB",
                "created_at": created,
                "acknowledged_at": None,
                "dispatched_at": None,
                "on_scene_at": None,
                "closed_at": None,
                "outcome": None,
                "assigned_agency_id": None,
                "version": 1,
            }
        )
    units_out = [
        {
            "id": f"u-{i:05d}",
            "agency_id": "agency",
            "callsign": f"U{i}",
            "kind": "police_vehicle",
            "status": ["available", "assigned", "en_route", "on_scene", "off_duty"][i % 5],
            "lat": -26.7 + (i % 71) * 0.016,
            "lon": 27.6 + (i // 71) * 0.012,
            "municipality": "JHB",
        }
        for i in range(n_units)
    ]
    return json.dumps(alerts_out).encode(), json.dumps(units_out).encode()


def test_two_thousand_alerts_and_five_thousand_units_render_within_two_seconds(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    """The lists are served to the page directly (seeding 7,000 rows would dominate the
    test): what is checked is the console's render from the lists' arrival. The 2 s
    target itself is measured by bench/console.py on a real server; here the bound is
    loose, so that a loaded CI machine does not fail a correct console."""
    operator = People(platform.db).user("thandi", Role.OPERATOR)
    alert_body, unit_body = _synthetic_lists(2000, 5000)

    def alerts_route(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=alert_body)

    def units_route(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=unit_body)

    console_context.route(re.compile(r".*/api/panic/alerts\?status=open.*"), alerts_route)
    console_context.route(re.compile(r".*/api/panic/units$"), units_route)
    page = open_console(console_context, operator).page
    ready = wait_ready(page)
    assert ready["alerts"] == 2000
    assert ready["units"] == 5000
    assert ready["renderMs"] <= 10_000, ready
    expect(page.locator(".queue-count")).to_have_text("2000")
    rendered = page.locator(".qrow:not([hidden])").count()
    assert rendered < 60, f"{rendered} rows in the DOM: the queue is not virtualised"
    # the keyboard still answers at once, and scrolling follows the selection
    for _ in range(30):
        page.keyboard.press("j")
    expect(queue(page).locator("[aria-selected=true]")).to_have_attribute("aria-posinset", "30")
    expect(queue(page).locator("[aria-selected=true]")).to_be_in_viewport()


def _sse(subject: str, payload: dict[str, Any]) -> str:
    return f"event: {subject}\ndata: {json.dumps(payload)}\n\n"


def test_a_burst_of_feed_events_is_drawn_in_a_few_frames(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    """1,200 events arrive at once on top of 2,000 alerts and 5,000 units: they reach the
    screen (queue and map) together in a frame or two, not one redraw per event."""
    operator = People(platform.db).user("thandi", Role.OPERATOR)
    alert_body, unit_body = _synthetic_lists(2000, 5000)
    events = ["retry: 60000\n"]
    for i in range(1000):
        unit: dict[str, Any] = {"unit_id": f"u-{i:05d}", "change": "location", "agency_id": "agency"}
        unit |= {"callsign": f"U{i}", "kind": "police_vehicle", "status": "en_route"}
        unit |= {"lat": -26.2 + i * 1e-4, "lon": 28.0}
        events.append(_sse("panic.unit_changed", unit))
    for i in range(100):
        alert: dict[str, Any] = {"alert_id": f"a-{i:05d}", "change": "acknowledged", "status": "acknowledged"}
        alert |= {"priority": 1 + i % 4, "type": "crime", "version": 2, "lat": -26.2, "lon": 28.05}
        events.append(_sse("panic.alert_changed", alert))
        raised: dict[str, Any] = {"alert_id": f"new-{i:03d}", "change": "raised", "status": "new"}
        raised |= {"priority": 1, "type": "medical", "version": 1, "location_unknown": False}
        raised |= {"lat": -26.19, "lon": 28.04}
        events.append(_sse("panic.alert_raised", raised))
    # The first connection brings only `feed.ready` (the lists load); the reconnection, the burst.
    ready = "retry: 300\n" + _sse("feed.ready", {"node": "test", "heartbeat_seconds": 15})
    streams = iter([ready, "".join(events)])

    def feed(route: Route) -> None:
        body = next(streams, "retry: 60000\n: nothing more\n\n")
        route.fulfill(status=200, content_type="text/event-stream", body=body)

    def serve(body: bytes) -> Callable[[Route], None]:
        return lambda route: route.fulfill(status=200, content_type="application/json", body=body)

    console_context.route(re.compile(r".*/api/panic/alerts\?status=open.*"), serve(alert_body))
    console_context.route(re.compile(r".*/api/panic/units$"), serve(unit_body))
    console_context.route(re.compile(r".*/api/feed\?.*"), feed)
    page = open_console(console_context, operator).page
    page.evaluate("window.khusela.ready")
    page.wait_for_function("() => window.khusela.applied.length >= 1200", timeout=WAIT_MS)
    applied = page.evaluate("window.khusela.applied")
    assert {a["subject"] for a in applied} == {
        "panic.unit_changed",
        "panic.alert_changed",
        "panic.alert_raised",
    }
    lags = sorted(a["appliedAt"] - a["receivedAt"] for a in applied)
    assert lags[0] >= 0
    # Timing is bench/console.py's to measure; here: the burst is batched, not one redraw per event.
    frames = page.evaluate("window.khusela.frames")
    burst = [f for f in frames if f["events"]]
    assert len(burst) <= 20, f"{len(burst)} redraws for 1,200 events"
    expect(page.locator(".queue-count")).to_have_text("2100")
    print("burst: lag p50/max ms", lags[len(lags) // 2], lags[-1], "frames", burst)


def test_the_console_reconnects_and_reloads_what_it_missed(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    """The feed drops and comes back: the console says so, reloads the lists, and marks
    the alert raised meanwhile as new (with its sound), not the ones it already showed."""
    operator = People(platform.db).user("thandi", Role.OPERATOR)
    lists = json.loads(_synthetic_lists(2, 0)[0])
    first, missed = lists
    answers = iter([[first], [first, missed]])

    def alert_list(route: Route) -> None:
        body = json.dumps(next(answers, [first, missed]))
        route.fulfill(status=200, content_type="application/json", body=body)

    ready = _sse("feed.ready", {"node": "test", "heartbeat_seconds": 15})
    streams = iter(["retry: 1500\n" + ready, "retry: 60000\n" + ready])

    def feed(route: Route) -> None:
        body = next(streams, "retry: 60000\n: nothing more\n\n")
        route.fulfill(status=200, content_type="text/event-stream", body=body)

    console_context.route(re.compile(r".*/api/panic/alerts\?status=open.*"), alert_list)
    console_context.route(re.compile(r".*/api/feed\?.*"), feed)
    page = open_console(console_context, operator).page
    page.evaluate("window.khusela.ready")
    expect(page.locator("#connection")).to_have_text("Reconnecting…", timeout=WAIT_MS)
    expect(queue(page).get_by_role("option")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#alert-" + missed["id"])).to_contain_text("NEW")
    expect(page.locator("#alert-" + first["id"])).not_to_contain_text("NEW")
