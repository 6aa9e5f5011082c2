"""Quarantine instructions for the mail gateway: JSON Lines, one instruction per active action.

JSON Lines because every gateway's glue (a milter, an MTA policy script, a Graph API job) can read
it line by line without a parser for a bespoke format; `ensure_ascii` keeps each record on one line
whatever the reason contains."""

from __future__ import annotations

import json

from khusela.cyber.response.active import Current
from khusela.cyber.response.text import iso_utc, one_line


def render(current: Current) -> str:
    """One `{"action": "quarantine", ...}` object per line; an empty file when nothing is held."""
    lines = []
    for message_id, block in current.messages:
        record = {
            "action": "quarantine",
            "message_id": message_id,
            "action_id": block.action_id,
            "until": iso_utc(block.expires_at) if block.expires_at else None,
            "reason": one_line(block.reason),
        }
        lines.append(json.dumps(record, ensure_ascii=True, separators=(", ", ": ")))
    return "".join(line + "\n" for line in lines)
