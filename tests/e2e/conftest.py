"""Browser fixtures: Debian's Chromium (headless) driven by Playwright, and a live server.

No browser is ever downloaded: the system's /usr/bin/chromium is used, or the tests skip
(fail under KHUSELA_REQUIRE_SERVICES=1). Screenshots are test artifacts, saved under
`test-artifacts/` (or $KHUSELA_ARTIFACTS) to be looked at after a run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from khusela.bootstrap import Platform
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
