"""Identity's ports."""

from __future__ import annotations

from typing import Protocol


class SmsSender(Protocol):
    def send(self, phone: str, message: str) -> None:
        """Deliver a text message to a phone number (E.164)."""
        ...

    def available(self) -> bool:
        """Whether messages can be sent at all (a gateway is configured)."""
        ...
