"""A resident's phone in the browser tests: a mobile context in Hillbrow that lets the
page read its location, and the sign-in on /panic with the code the resident is texted."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from khusela.bootstrap import Platform
from khusela.identity.adapters.sms_log import LogSmsSender
from tests.panic_support import HILLBROW

PHONE = "+27825550101"
PHONE_AS_TYPED = "082 555 0101"
PHONE_SIZE: ViewportSize = {"width": 360, "height": 640}


@dataclass
class Phone:
    context: BrowserContext
    requested: list[str] = field(default_factory=list)
    """Every URL the page and its service worker asked for."""


def phone_in_hillbrow(browser: Browser, server: str, *, slow_fix_s: float = 0) -> Phone:
    """A phone in Hillbrow that lets the page read its location (after `slow_fix_s`)."""
    ctx = browser.new_context(
        viewport=PHONE_SIZE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": HILLBROW[0], "longitude": HILLBROW[1], "accuracy": 12},
        permissions=["geolocation"],
        base_url=server,
    )
    if slow_fix_s:
        # The emulated fix is instant; a real GPS fix can take much longer.
        ctx.add_init_script(
            "(() => { const g = navigator.geolocation, get = g.getCurrentPosition.bind(g);"
            f" g.watchPosition = (ok, err, o) => {{ setTimeout(() => get(ok, err, o), {slow_fix_s * 1000});"
            " return 1; }; g.clearWatch = () => {}; })();"
        )
    phone = Phone(ctx)
    ctx.on("request", lambda request: phone.requested.append(request.url))
    return phone


def code_texted(platform: Platform, before: int) -> str:
    sms = platform.sms
    assert isinstance(sms, LogSmsSender)
    deadline = time.monotonic() + 10
    while len(sms.sent) <= before:
        assert time.monotonic() < deadline, "no sign-in code was texted"
        time.sleep(0.05)
    return str(re.findall(r"\b\d{6}\b", sms.sent[-1][1])[0])


def sign_in(page: Page, platform: Platform) -> None:
    page.goto("/panic")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sms = platform.sms
    assert isinstance(sms, LogSmsSender)
    before = len(sms.sent)
    page.get_by_label("Your cell phone number").fill(PHONE_AS_TYPED)
    page.get_by_role("button", name="Send me a code").click()
    code = code_texted(platform, before)
    page.get_by_label("The 6-digit code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=re.compile("PANIC"))).to_be_visible()
