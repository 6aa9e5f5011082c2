"""The console's CCTV panel (#/cctv) in Debian's Chromium: the video wall of a chosen
municipality (only tiles on screen stream), the detection timeline with live updates,
camera health with offline cameras first, the evidence cases and their custody logs, the
live map's Cameras layer, and a role without `cctv.read` never seeing any of it.

Endpoints still being built (the MJPEG live view, detections and their snapshots, uptime,
and the cctv.* subjects on the live feed) are answered by route interception with payloads
in the shape the backend contracts give; cameras and evidence are the real API.
Screenshot: `console-cctv.png` in the artifacts folder.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Route, expect
from sqlalchemy import Connection, update

from khusela.bootstrap import Platform
from khusela.cctv import cameras
from khusela.cctv.cameras import CameraSpec, CameraStatus
from khusela.cctv.events import record_event
from khusela.cctv.health import Transition, record_transition
from khusela.cctv.tables import cameras as camera_table
from khusela.cctv.video.pipeline import CctvEvent
from khusela.evidence import locker
from khusela.evidence.locker import ItemKind
from khusela.evidence.storage import MediaStore, local_store
from khusela.identity.model import Role
from tests.conftest import People, Person
from tests.e2e.conftest import WAIT_MS
from tests.e2e.test_console import CONSOLE_SIZE, Console, open_console
from tests.panic_support import HILLBROW, PRETORIA_CENTRAL

pytestmark = pytest.mark.slow

OFFLINE_REASON = "no frames for 5 s (connection refused)"
CASE_NUMBER = "CAS 123/11/2026"


@pytest.fixture
def console_context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    yield ctx
    ctx.close()


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(out, format="JPEG")
    return out.getvalue()


FRAME = jpeg((40, 90, 140))
SNAPSHOT = jpeg((140, 90, 40))


@dataclass(frozen=True)
class Site:
    """Cameras in Johannesburg (one offline) and one in Tshwane; an operator and a case."""

    operator: Person
    joburg: list[dict[str, Any]]
    tshwane: dict[str, Any]
    case_id: str

    @property
    def offline(self) -> dict[str, Any]:
        return self.joburg[0]


def detect(
    conn: Connection,
    store: MediaStore,
    camera: dict[str, Any],
    at: datetime,
    label: str,
    score: float,
    plate: str | None = None,
) -> None:
    """A detection event as a camera worker records it (stored, and queued for the feed)."""
    event = CctvEvent(
        camera_id=camera["id"],
        kind="start",
        at=at,
        offset_s=0.0,
        label=label,
        score=score,
        box=(120, 80, 60, 140),
        zone=None,
        track_id=1,
        plate=plate,
        snapshot_jpeg=jpeg((140, 90, int(score * 100))),
    )
    record_event(conn, camera, event, store, report_hit=False)


def build_site(platform: Platform, people: People) -> Site:
    admin = people.user("sipho", Role.ADMIN).principal
    operator = people.user("thandi", Role.OPERATOR)
    agency = people.agency()
    spots = [
        ("Hillbrow Tower North", 0.0, 0.0),
        ("Pritchard St & Twist St", 0.004, 0.003),
        ("Joubert Park Gate", -0.003, 0.004),
    ]
    with platform.db.write() as conn:
        joburg = [
            cameras.register(
                conn,
                admin,
                CameraSpec(
                    owner_agency_id=agency,
                    name=name,
                    lat=HILLBROW[0] + dlat,
                    lon=HILLBROW[1] + dlon,
                    main_stream_url=f"rtsp://viewer:secret@10.1.0.{n}/main",
                    external_ref=f"JHB-{n:03d}",
                ),
                platform.gazetteer,
            )
            for n, (name, dlat, dlon) in enumerate(spots, start=1)
        ]
        tshwane = cameras.register(
            conn,
            admin,
            CameraSpec(
                owner_agency_id=agency,
                name="Church Square",
                lat=PRETORIA_CENTRAL[0],
                lon=PRETORIA_CENTRAL[1],
                main_stream_url="rtsp://10.2.0.1/main",
            ),
            platform.gazetteer,
        )
        now = datetime.now(UTC)
        # the first camera was online, then went offline 5 h ago (its uptime is < 100 %)
        record_transition(
            conn,
            joburg[0],
            Transition(joburg[0]["id"], CameraStatus.ONLINE, None, now - timedelta(hours=20), None),
        )
        record_transition(
            conn,
            joburg[0],
            Transition(joburg[0]["id"], CameraStatus.OFFLINE, OFFLINE_REASON, now - timedelta(hours=5), None),
        )
        conn.execute(
            update(camera_table)
            .where(camera_table.c.id == joburg[0]["id"])
            .values(status="offline", status_reason=OFFLINE_REASON)
        )
        for camera in joburg[1:]:
            conn.execute(
                update(camera_table)
                .where(camera_table.c.id == camera["id"])
                .values(status="online", last_frame_at=now - timedelta(seconds=2))
            )
        store = local_store(platform.settings.data_dir)
        detect(conn, store, joburg[1], now - timedelta(minutes=3), "plate", 0.91, plate="CA 123-456")
        detect(conn, store, joburg[2], now - timedelta(minutes=1), "person", 0.84)
        case = locker.create_case(
            conn, operator.principal.user_id, CASE_NUMBER, "Hijacking at Pritchard St", agency
        )
        locker.add_item(
            conn,
            store,
            operator.principal.user_id,
            case.id,
            io.BytesIO(SNAPSHOT),
            ItemKind.SNAPSHOT,
            "image/jpeg",
            "pritchard-0412.jpg",
        )
    assert joburg[0]["municipality"]
    assert joburg[0]["municipality"] != tshwane["municipality"]
    return Site(operator, joburg, tshwane, case.id)


def fake_live_view(ctx: BrowserContext, streamed: list[str]) -> None:
    """The MJPEG live view needs camera workers, which the test server does not run: one frame."""

    def live(route: Route) -> None:
        streamed.append(route.request.url)
        assert "access_token=" in route.request.url
        route.fulfill(status=200, content_type="image/jpeg", body=FRAME)

    ctx.route(re.compile(r"/api/cctv/cameras/[^/]+/live\.mjpeg"), live)


def open_cctv(ctx: BrowserContext, person: Person) -> Console:
    """Sign in on `/#/cctv` (as from a bookmark): the panel opens, its menu item current."""
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/#/cctv")
    body = person.login_body()
    page.get_by_label("Username").fill(body["username"])
    page.get_by_label("Password").fill(body["password"])
    page.get_by_label("Authenticator code").fill(body["totp"])
    page.get_by_role("button", name="Sign in").click()
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="CCTV")
    expect(link).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("tab", name="Video wall")).to_have_attribute("aria-selected", "true")
    return Console(page, problems)


def test_the_operator_watches_an_area_sees_detections_health_and_evidence(
    server: str, platform: Platform, console_context: BrowserContext, shots: Path
) -> None:
    site = build_site(platform, People(platform.db))
    streamed: list[str] = []
    fake_live_view(console_context, streamed)
    console = open_cctv(console_context, site.operator)
    page = console.page

    # the wall: choose Johannesburg, 2x2; three tiles, the offline one greyed with its reason
    page.get_by_label("Layout").select_option("2x2")
    page.get_by_label("Area").select_option(site.offline["municipality"])
    tiles = page.get_by_role("list", name="Live camera tiles").get_by_role("listitem")
    expect(tiles).to_have_count(3)
    offline_tile = tiles.filter(has_text="Hillbrow Tower North")
    expect(offline_tile).to_have_class(re.compile(r"\bis-down\b"))
    expect(offline_tile).to_contain_text("Offline")
    expect(offline_tile).to_contain_text(OFFLINE_REASON)
    expect(offline_tile.locator("img[src]")).to_have_count(0)
    expect(tiles.filter(has_text="Church Square")).to_have_count(0)
    for name in ("Pritchard St & Twist St", "Joubert Park Gate"):
        tile = tiles.filter(has_text=name)
        expect(tile.locator("img.cctv-video")).to_have_attribute(
            "src", re.compile(r"live\.mjpeg\?access_token=")
        )
        expect(tile).not_to_have_class(re.compile(r"\bis-down\b"))
    assert page.evaluate("window.khusela.cctv.streaming") == 2

    # the detection timeline: newest first, plate text, snapshots fetched with the token
    timeline = page.get_by_role("list", name="Detection events, newest first")
    expect(timeline.get_by_role("listitem")).to_have_count(2)
    expect(timeline.get_by_role("listitem").first).to_contain_text("Person")
    expect(timeline.get_by_role("listitem").nth(1)).to_contain_text("CA 123-456")
    expect(timeline.get_by_role("listitem").nth(1)).to_contain_text("Pritchard St & Twist St")
    expect(timeline.locator("img.cctv-thumb[src^='blob:']")).to_have_count(2)
    page.get_by_label("Label").select_option("plate")
    expect(timeline.get_by_role("listitem")).to_have_count(1)
    page.get_by_label("Label").select_option("")
    expect(timeline.get_by_role("listitem")).to_have_count(2)
    page.screenshot(path=str(shots / "console-cctv.png"))

    # click → enlarge; the wall's own streams pause meanwhile, and come back on close
    tiles.filter(has_text="Joubert Park Gate").focus()
    page.keyboard.press("Enter")
    enlarged = page.get_by_role("dialog", name="Joubert Park Gate")
    expect(enlarged).to_be_visible()
    expect(enlarged.locator("img")).to_have_attribute("src", re.compile(r"live\.mjpeg"))
    assert page.evaluate("window.khusela.cctv.streaming") == 0
    page.keyboard.press("Escape")
    expect(enlarged).to_have_count(0)
    expect(tiles.filter(has_text="Joubert Park Gate")).to_be_focused()
    expect(page.locator(".cctv-grid img.cctv-video[src]")).to_have_count(2)

    # camera health: the offline camera first, with its reason, counting frame ages, uptime
    page.get_by_role("tab", name="Camera health").click()
    assert page.evaluate("window.khusela.cctv.streaming") == 0  # the wall is hidden: no streams
    health = page.get_by_role("table", name="Camera health")
    rows = health.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Hillbrow Tower North")
    expect(rows.first).to_contain_text("Offline")
    expect(rows.first).to_contain_text(OFFLINE_REASON)
    expect(rows.first.locator("td").last).to_have_text(re.compile(r"^(7\d|8\d)\.\d %$"))
    expect(rows.first.locator(".cctv-age")).to_have_text("never")
    expect(health.locator("th[aria-sort='ascending']")).to_contain_text("Status")
    age = rows.nth(1).locator(".cctv-age")
    first_age = age.inner_text()
    assert first_age.endswith("s ago")
    expect(age).not_to_have_text(first_age, timeout=3000)
    health.get_by_role("button", name="Status").click()
    expect(health.locator("th[aria-sort='descending']")).to_contain_text("Status")
    expect(rows.last).to_contain_text("Hillbrow Tower North")

    # evidence: the case with its item and hold, and its chain of custody
    page.get_by_role("tab", name="Evidence cases").click()
    cases = page.get_by_role("table", name="Evidence cases")
    case_row = cases.locator("tbody tr").filter(has_text=CASE_NUMBER)
    expect(case_row).to_contain_text("Hijacking at Pritchard St")
    expect(case_row.locator("td").nth(1)).to_have_text("1")
    expect(case_row).to_contain_text("No")
    case_row.get_by_role("button", name=f"Custody log of {CASE_NUMBER}").click()
    log = page.get_by_role("table", name=f"Custody log of {CASE_NUMBER}")
    expect(log.locator("tbody tr")).to_have_count(2)
    expect(log.locator("tbody tr").first).to_contain_text("created")
    expect(log.locator("tbody tr").nth(1)).to_contain_text("added")
    expect(page.get_by_text("Chain verified: 2 entries, unbroken.")).to_be_visible()

    # leaving the view closes every stream
    page.get_by_role("tab", name="Video wall").click()
    expect(page.locator(".cctv-grid img.cctv-video[src]")).to_have_count(2)
    page.evaluate("location.hash = '#/kpis'")
    expect(page.locator(".cctv-grid")).to_have_count(0)
    assert page.evaluate("window.khusela.cctv") is None
    assert streamed, "no tile asked for its live view"
    assert console.problems == []


def test_detections_and_camera_status_arrive_from_the_feed_without_a_reload(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    site = build_site(platform, People(platform.db))
    fake_live_view(console_context, [])
    page = open_cctv(console_context, site.operator).page
    page.evaluate("window.__sameDocument = true")
    timeline = page.get_by_role("list", name="Detection events, newest first")
    expect(timeline.get_by_role("listitem")).to_have_count(2)
    page.wait_for_function("() => window.khusela.cctv && window.khusela.cctv.feedReady", timeout=WAIT_MS)

    now = datetime.now(UTC)
    joubert = site.joburg[2]
    with platform.db.write() as conn:
        store = local_store(platform.settings.data_dir)
        detect(conn, store, site.joburg[1], now, "plate", 0.88, plate="GP77ZZGP")
        record_transition(
            conn, joubert, Transition(joubert["id"], CameraStatus.OFFLINE, "stream ended (EOF)", now, None)
        )
    platform.relay.notify()

    expect(timeline.get_by_role("listitem")).to_have_count(3, timeout=WAIT_MS)
    expect(timeline.get_by_role("listitem").first).to_contain_text("GP77ZZGP")
    expect(timeline.locator("img.cctv-thumb[src^='blob:']")).to_have_count(3)
    tile = page.locator(".cctv-tile").filter(has_text="Joubert Park Gate")
    expect(tile).to_have_class(re.compile(r"\bis-down\b"))
    expect(tile).to_contain_text("stream ended (EOF)")
    expect(tile.locator("img[src]")).to_have_count(0)
    page.get_by_role("tab", name="Camera health").click()
    rows = page.get_by_role("table", name="Camera health").locator("tbody tr")
    expect(rows.nth(0)).to_contain_text("Offline")
    expect(rows.nth(1)).to_contain_text("Offline")
    expect(rows.filter(has_text="Joubert Park Gate")).to_contain_text("stream ended (EOF)")
    assert page.evaluate("window.__sameDocument") is True


def test_a_role_without_cctv_read_has_no_cctv_panel(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    analyst = People(platform.db).user("lerato", Role.SOC_ANALYST)
    page = open_console(console_context, analyst).page
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    expect(menu.get_by_role("link", name="CCTV")).to_have_count(0)
    page.evaluate("location.hash = '#/cctv'")
    expect(page.get_by_text("Your role does not include the CCTV cameras.")).to_be_visible()
    expect(page.locator(".cctv")).to_have_count(0)


def test_the_live_maps_cameras_layer_shows_cameras_and_opens_the_live_tile(
    server: str, platform: Platform, console_context: BrowserContext
) -> None:
    site = build_site(platform, People(platform.db))
    fake_live_view(console_context, [])
    page = open_console(console_context, site.operator).page
    expect(page.locator("#connection")).to_have_text("Live", timeout=WAIT_MS)
    layers = page.locator(".leaflet-control-layers")
    cameras_toggle = layers.get_by_role("checkbox", name="Cameras")
    expect(cameras_toggle).not_to_be_checked()
    cameras_toggle.check()
    page.wait_for_function("() => (window.khusela.cameraMarkers?.() ?? []).length === 4", timeout=WAIT_MS)
    page.wait_for_timeout(600)  # the map's canvases settle
    markers: list[dict[str, Any]] = page.evaluate("window.khusela.cameraMarkers()")
    statuses = {m["id"]: m["status"] for m in markers}
    assert statuses[site.offline["id"]] == "offline"
    assert statuses[site.joburg[1]["id"]] == "online"
    assert statuses[site.tshwane["id"]] == "unknown"

    # Church Square stands alone in Tshwane: click its marker for the popup (read its place
    # again before each try, in case the map was still settling)
    popup = page.locator(".leaflet-popup")
    box = page.locator(".map").bounding_box()
    assert box is not None
    for _ in range(5):
        current: list[dict[str, Any]] = page.evaluate("window.khusela.cameraMarkers()")
        target = next(m for m in current if m["id"] == site.tshwane["id"])
        page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
        if popup.count():
            break
        page.wait_for_timeout(300)
    expect(popup).to_contain_text("Church Square")
    expect(popup).to_contain_text("Unknown")
    popup.get_by_role("link", name="Open live view").click()
    expect(page.get_by_role("dialog", name="Church Square")).to_be_visible()
    expect(page.get_by_role("tab", name="Video wall")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Area")).to_have_value(site.tshwane["municipality"])
    expect(page.locator(".cctv-tile")).to_have_count(1)
    expect(page.locator(".leaflet-container")).to_have_count(0)
