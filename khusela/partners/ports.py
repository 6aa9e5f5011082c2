"""How community alerts reach people: text messages (the platform's `SmsSender`) and push."""

from __future__ import annotations

from collections import deque
from typing import Protocol

import structlog

log = structlog.get_logger("khusela.partners.push")


class PushSender(Protocol):
    def push(self, user_id: str, title: str, body: str) -> None:
        """Hand a notification for one user's devices to the push service."""
        ...


class LogPushSender:
    """Until a push service (FCM, Web Push) is configured: notifications go to the log."""

    def __init__(self) -> None:
        self.sent: deque[tuple[str, str, str]] = deque(maxlen=500)

    def push(self, user_id: str, title: str, body: str) -> None:
        self.sent.append((user_id, title, body))
        log.info("push.demo_delivery", user_id=user_id, title=title)


_DEFAULT = LogPushSender()


def default_push() -> LogPushSender:
    """The process's push adapter (one, so the API and tests see the same deliveries)."""
    return _DEFAULT
