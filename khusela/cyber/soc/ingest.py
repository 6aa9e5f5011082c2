"""The HTTP ingest's body: JSON lines (or one JSON array) into events for the pipeline.

Each line is judged alone: a bad line is reported with its number and reason and the good
lines around it are kept. Windows logons (Security 4624/4625) also become logon events so
the brute-force and spraying correlation sees them, not only the Sigma rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from khusela.cyber.ingest.jsonlog import normalise_document
from khusela.cyber.ingest.normalise import Event as LogEvent
from khusela.cyber.ingest.normalise import LogSource

Parsed = list[tuple[Mapping[str, object], str]]
Problems = list[tuple[int, str]]
MAX_LINE_CHARS = 256 * 1024
LOGON_TYPES = {4625: "logon_failure", 4624: "logon_success"}


def parse_lines(body: bytes) -> tuple[Parsed, Problems]:
    """Events and (line number, reason) problems from a JSON-lines or JSON-array body."""
    text = body.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _parse_array(stripped)
    parsed: Parsed = []
    problems: Problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            problems.append((number, f"line longer than {MAX_LINE_CHARS} characters"))
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((number, f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        _take(value, line, number, parsed, problems)
    return parsed, problems


def _parse_array(text: str) -> tuple[Parsed, Problems]:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [(exc.lineno, f"invalid JSON: {exc.msg} at column {exc.colno}")]
    parsed: Parsed = []
    problems: Problems = []
    for index, value in enumerate(values, start=1):
        _take(value, json.dumps(value, ensure_ascii=False), index, parsed, problems)
    return parsed, problems


def _take(value: object, raw: str, number: int, parsed: Parsed, problems: Problems) -> None:
    if not isinstance(value, dict):
        problems.append((number, f"expected a JSON object, got {type(value).__name__}"))
        return
    try:
        event = normalise_document(value)
    except (ValueError, TypeError, KeyError) as exc:
        problems.append((number, f"not an event: {exc}"))
        return
    parsed.append((as_logon(event, raw) or event, raw))


def as_logon(event: Mapping[str, object], raw: str) -> LogEvent | None:
    """A Windows logon success or failure as a correlatable logon event (fields kept)."""
    if str(event.get("Channel") or "") != "Security":
        return None
    try:
        event_id = int(str(event.get("EventID")))
    except ValueError:
        return None
    kind = LOGON_TYPES.get(event_id)
    if kind is None:
        return None
    fields = dict(event)
    source = event.get("IpAddress")
    if source not in (None, "", "-"):
        fields["SourceIp"] = source
    return LogEvent(
        event_type=kind,
        logsource=LogSource("windows", service="security"),
        raw=raw,
        timestamp=event_time(event),
        fields=fields,
    )


def event_time(event: Mapping[str, object]) -> datetime | None:
    """When a JSON event happened, from the time fields Windows, Sysmon and ECS use."""
    for name in ("TimeCreated", "UtcTime", "@timestamp", "EventTime"):
        value = event.get(name)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
