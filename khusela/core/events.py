"""The domain event envelope shared by every module and both bus adapters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from khusela.core.ids import new_id


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, named as the business speaks (`panic.alert_raised`).

    `subject` routes the event on the bus; `id` makes consumers idempotent.
    """

    subject: str
    payload: dict[str, Any]
    id: str = field(default_factory=new_id)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "subject": self.subject,
                "occurred_at": self.occurred_at.isoformat(),
                "payload": self.payload,
            },
            separators=(",", ":"),
            default=str,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Event:
        data = json.loads(raw)
        return cls(
            subject=data["subject"],
            payload=data["payload"],
            id=data["id"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
        )
