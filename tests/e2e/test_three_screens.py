"""The whole flow across the three screens, each in its own browser: a resident presses
on /panic, the operator dispatches the top recommended unit from the console, the crew
works the job on /responder, and the resident's page follows every state to the end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from khusela.bootstrap import Platform
from khusela.identity import totp
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic import avl
from khusela.panic.model import UnitKind
from khusela.panic.units import register_unit
from tests.conftest import People
from tests.e2e.conftest import WAIT_MS
from tests.e2e.resident import PHONE, Phone, sign_in
from tests.e2e.test_console import CONSOLE_SIZE, open_console, queue, wait_ready

pytestmark = pytest.mark.slow


def test_press_dispatch_respond_resolve_across_three_screens(
    browser: Browser, server: str, platform: Platform, phone: Phone
) -> None:
    people = People(platform.db)
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(provinces=frozenset({"GP"})))
    operator = people.user("thandi", Role.OPERATOR)
    crew = people.user("sipho", Role.RESPONDER, agency_id=saps)
    people.user("nomsa", Role.RESIDENT, phone=PHONE)
    at = datetime.now(UTC) - timedelta(seconds=5)
    with platform.db.write() as conn:
        near = register_unit(
            conn, SYSTEM, agency_id=saps, callsign="HB-1", kind=UnitKind.POLICE_VEHICLE, lat=-26.19, lon=28.05
        )
        far = register_unit(
            conn, SYSTEM, agency_id=saps, callsign="HB-9", kind=UnitKind.POLICE_VEHICLE, lat=-26.25, lon=28.1
        )
        for unit, (lat, lon) in ((near, (-26.19, 28.05)), (far, (-26.25, 28.1))):
            avl.report_location(conn, "test", unit.id, lat, lon, 8.0, at, gazetteer=platform.gazetteer)

    # the crew signs on to the nearest unit for the shift
    responder_ctx = browser.new_context(
        viewport={"width": 360, "height": 640},
        base_url=server,
        geolocation={"latitude": -26.19, "longitude": 28.05, "accuracy": 8},
        permissions=["geolocation"],
    )
    responder = responder_ctx.new_page()
    responder.goto("/responder")
    responder.get_by_label("Username").fill(crew.username)
    responder.get_by_label("Password").fill(crew.password)
    assert crew.totp_secret
    responder.get_by_label("Authenticator code").fill(totp.current_code(crew.totp_secret))
    responder.get_by_role("button", name="Sign in").click()
    responder.get_by_role("button", name=re.compile(r"^HB-1\b")).click()
    expect(responder.get_by_role("heading", name=re.compile("standing by"))).to_be_visible()

    # the operator has the console open
    console_ctx = browser.new_context(viewport=CONSOLE_SIZE, base_url=server)
    console = open_console(console_ctx, operator).page
    wait_ready(console)

    # the resident presses
    resident = phone.context.new_page()
    sign_in(resident, platform)
    resident.get_by_role("button", name=re.compile("PANIC")).click()
    status = resident.locator("#status-title")
    expect(status).to_have_text("Help is being arranged", timeout=WAIT_MS)

    # the operator opens it and dispatches the top recommendation with one click
    row = queue(console).get_by_role("option").first
    expect(row).to_be_visible(timeout=WAIT_MS)
    row.click()
    top = console.get_by_role("button", name=re.compile(r"^Dispatch HB-1 "))
    expect(top).to_be_visible(timeout=WAIT_MS)
    top.click()
    expect(status).to_have_text("Help is on the way", timeout=WAIT_MS)

    # the crew sees the job arrive and works it; the resident's page follows
    card = responder.get_by_role("article")
    expect(card).to_be_visible(timeout=WAIT_MS)
    for step in ("Acknowledge", "En route", "On scene"):
        card.get_by_role("button", name=re.compile(rf"^{step}( \d\d:\d\d)?$")).click()
        if step == "En route":
            expect(resident.locator("#status")).to_contain_text(
                "The unit is driving to you.", timeout=WAIT_MS
            )
    expect(status).to_have_text("Help has arrived", timeout=WAIT_MS)
    card.get_by_role("radio", name="Attended").check()
    card.get_by_role("button", name=re.compile(r"^Resolved( \d\d:\d\d)?$")).click()
    expect(status).to_have_text("Your alert is closed", timeout=WAIT_MS)
    expect(queue(console).get_by_role("option")).to_have_count(0, timeout=WAIT_MS)
    responder_ctx.close()
    console_ctx.close()
