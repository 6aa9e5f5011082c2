"""Browser fixtures: Debian's Chromium (headless) driven by Playwright, and a live server.

No browser is ever downloaded: the system's /usr/bin/chromium is used, or the tests skip
(fail under KHUSELA_REQUIRE_SERVICES=1). Screenshots are test artifacts, saved under
`test-artifacts/` (or $KHUSELA_ARTIFACTS) to be looked at after a run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from khusela.bootstrap import Platform
from tests.e2e.resident import Phone, phone_in_hillbrow
from tests.live_server import live_server
from tests.services import unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 15_000
"""How long an expectation waits in the browser before it fails."""


def artifacts_dir() -> Path:
    path = Path(os.environ.get("KHUSELA_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is absent: install Debian's chromium package (scripts/setup-system)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(platform: Platform) -> Iterator[str]:
    """The platform's app on a real server; yields its base URL."""
    with live_server(platform) as base:
        yield base


@pytest.fixture
def shots() -> Path:
    """Where a test saves its screenshots."""
    return artifacts_dir()


@pytest.fixture
def phone(browser: Browser, server: str) -> Iterator[Phone]:
    """A resident's phone in Hillbrow (see tests/e2e/resident.py)."""
    made = phone_in_hillbrow(browser, server)
    yield made
    made.context.close()


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    """Poll `check` (a database or API condition) until it holds, or fail saying `what`."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
