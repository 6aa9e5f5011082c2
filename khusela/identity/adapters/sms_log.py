"""SMS adapters that need no gateway.

`LogSmsSender` is the demo's: it writes the message (with the one-time code) to the log
instead of a phone, with the number masked. It is chosen only outside production.
`UnconfiguredSmsSender` is production's until a gateway adapter is configured: it refuses
clearly instead of pretending a code was sent.
"""

from __future__ import annotations

from collections import deque

import structlog

from khusela.core.errors import ServiceUnavailable

log = structlog.get_logger("khusela.sms")


def mask_phone(phone: str) -> str:
    return phone[:4] + "*" * max(len(phone) - 6, 0) + phone[-2:]


class LogSmsSender:
    def __init__(self) -> None:
        self.sent: deque[tuple[str, str]] = deque(maxlen=50)

    def send(self, phone: str, message: str) -> None:
        self.sent.append((phone, message))
        log.info("sms.demo_delivery", to=mask_phone(phone), text=message)

    def available(self) -> bool:
        return True


class UnconfiguredSmsSender:
    def send(self, phone: str, message: str) -> None:
        raise ServiceUnavailable("no SMS gateway is configured; residents cannot get sign-in codes")

    def available(self) -> bool:
        return False
