"""JSON logs with request ids, and a last line of defence against personal data in logs.

Modules must not log secrets or personal data in the first place; `redact` masks the
field names that would carry them should one slip through.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "totp",
        "token",
        "access_token",
        "authorization",
        "secret",
        "totp_secret",
        "phone",
        "phone_number",
        "code",
        "pin",
        "duress_pin",
        "id_number",
        "email",
        "note",
    }
)


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in SENSITIVE_KEYS:
            event[key] = "[redacted]"
    return event


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Structured logs to stderr: one JSON object a line in servers, readable in a terminal."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # Resolve sys.stderr at each call, not once: tests and daemons may swap it.
        logger_factory=lambda *_args: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(message)s")
    # uvicorn's own access log would print query strings and client addresses.
    logging.getLogger("uvicorn.access").disabled = True
