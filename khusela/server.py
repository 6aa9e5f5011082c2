"""Start the server: migrate, assemble the platform, serve with Uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import os
from types import FrameType

import uvicorn
from rich.console import Console
from rich.table import Table

from khusela.api.app import create_app
from khusela.api.feed import feed_hub
from khusela.bootstrap import Platform, bootstrap, build_database
from khusela.core.logging import configure_logging
from khusela.core.settings import Environment, Settings, load_settings
from khusela.store.migrate import upgrade


class _Server(uvicorn.Server):
    """Uvicorn waits for open responses before it shuts the app down, and a live-feed stream
    never ends by itself: on the shutdown signal, end every stream with `feed.reset` (the
    consoles reconnect to another node) so that shutdown takes milliseconds, not the timeout."""

    def __init__(self, config: uvicorn.Config, platform: Platform) -> None:
        super().__init__(config)
        self.platform = platform

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        hub = feed_hub(self.platform)
        if hub is not None:
            with contextlib.suppress(RuntimeError):  # no running loop yet: nothing to close
                asyncio.get_running_loop().call_soon(hub.close_streams)
        super().handle_exit(sig, frame)


def run(settings: Settings, host: str, port: int) -> None:
    configure_logging(settings.log_level)
    db = build_database(settings)
    upgrade(db)
    platform = bootstrap(settings, db=db)
    config = uvicorn.Config(
        create_app(platform),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,  # a stuck response must not hold shutdown for ever
    )
    _Server(config, platform).run()


def run_demo(host: str, port: int) -> None:
    """`khusela demo`: the demo environment on the embedded database unless told otherwise."""
    os.environ.setdefault("KHUSELA_ENVIRONMENT", Environment.DEMO.value)
    settings = load_settings()
    if settings.environment is Environment.PRODUCTION:
        raise ValueError("the demo publishes its passwords; it refuses to seed a production environment")
    db = build_database(settings)
    upgrade(db)
    from khusela.demo.seed import DEMO_DURESS_PIN, DEMO_PASSWORD, DEMO_PIN, demo_logins, is_seeded, seed

    with db.write() as conn:
        fresh = not is_seeded(conn)
        if fresh:
            seed(conn)
    with db.read() as conn:
        logins = demo_logins(conn)
    console = Console()
    state = "seeded new" if fresh else "reusing"
    console.print(f"[bold]Khusela demo[/bold] — {state} data in {settings.data_dir.resolve()}")
    table = Table("username", "role", "agency", "sign in with", title="Demo logins")
    for login in logins:
        if login.phone:
            how = f"phone {login.phone} + SMS code (written to the log)"
        elif login.totp_secret:
            how = (
                f"password {DEMO_PASSWORD} + TOTP (secret {login.totp_secret}; "
                f"current code: khusela users totp {login.username})"
            )
        else:
            how = f"password {DEMO_PASSWORD}"
        table.add_row(login.username, login.role.value, login.agency, how)
    console.print(table)
    console.print(
        f"Resident panic PIN {DEMO_PIN}; duress PIN {DEMO_DURESS_PIN} (looks like a cancel, escalates)"
    )
    console.print(f"Console: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    run(settings, host, port)
