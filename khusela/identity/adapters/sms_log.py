"""The demo's SMS adapter: writes the message to the log instead of a phone.

Only for the demo and development: it logs a one-time code, which a real deployment must
never do. The phone number is masked so that the log still holds no personal data.
"""

from __future__ import annotations

import structlog

log = structlog.get_logger("khusela.sms")


def mask_phone(phone: str) -> str:
    return phone[:4] + "*" * max(len(phone) - 6, 0) + phone[-2:]


class LogSmsSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, message: str) -> None:
        self.sent.append((phone, message))
        log.info("sms.demo_delivery", to=mask_phone(phone), message=message)
