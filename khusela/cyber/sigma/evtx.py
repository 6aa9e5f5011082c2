"""Read Windows EVTX files into flat Sigma-named event dicts.

Sigma rules name the fields of ``Event.EventData`` directly (``Image``, ``CommandLine``) plus a few
``System`` fields (``EventID``, ``Channel``, ``Computer``, ``Provider_Name``), so each record is
flattened into one dict with those names. A damaged file or record is counted with its reason in
:class:`ReadStats` and never stops the scan: evidence files are often truncated.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from evtx import PyEvtxParser

from khusela.cyber.sigma.fields import canonical_keys

FlatEvent = dict[str, object]
_MAX_CONSECUTIVE_ERRORS = 1000
_MAX_LISTED = 1000


@dataclass(slots=True)
class ReadStats:
    """How many records were read and which ones (or which files) could not be."""

    events: int = 0
    errors: list[str] = field(default_factory=list)
    by_reason: Counter[str] = field(default_factory=Counter)

    def malformed(self, source: str, line: int, reason: str) -> None:
        """Count a line that is not an event; the first thousand are also listed with their place."""
        self.by_reason[reason.split(":", maxsplit=1)[0]] += 1
        if len(self.errors) < _MAX_LISTED:
            self.errors.append(f"{source}:{line}: {reason}")

    @property
    def malformed_count(self) -> int:
        return sum(self.by_reason.values())


def read_evtx(path: str | Path, stats: ReadStats | None = None) -> Iterator[FlatEvent]:
    """Yield each record of ``path`` flattened; problems are appended to ``stats.errors``."""
    stats = stats if stats is not None else ReadStats()
    try:
        records = iter(PyEvtxParser(str(path)).records_json())
    except (OSError, RuntimeError, ValueError) as exc:
        stats.errors.append(f"{path}: cannot open: {exc}")
        return
    consecutive = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (OSError, RuntimeError, ValueError) as exc:
            stats.errors.append(f"{path}: bad record: {str(exc).splitlines()[0] if str(exc) else exc!r}")
            consecutive += 1
            if consecutive >= _MAX_CONSECUTIVE_ERRORS:
                stats.errors.append(f"{path}: giving up after {consecutive} unreadable records in a row")
                return
            continue
        consecutive = 0
        if not isinstance(record, dict):
            stats.errors.append(f"{path}: empty record")
            continue
        try:
            event = flatten(json.loads(str(record["data"])))
        except (ValueError, KeyError, TypeError) as exc:
            stats.errors.append(f"{path}: record {record.get('event_record_id')}: {exc}")
            continue
        stats.events += 1
        yield event


def flatten(document: dict[str, object]) -> FlatEvent:
    """One evtx-rs JSON record (``{"Event": {"System": …, "EventData": …}}``) as Sigma fields."""
    root = document.get("Event")
    if not isinstance(root, dict):
        raise ValueError("record has no Event element")
    flat: FlatEvent = {}
    system = root.get("System")
    if isinstance(system, dict):
        _flatten_system(system, flat)
    for section in ("EventData", "UserData"):
        data = root.get(section)
        if isinstance(data, dict):
            _flatten_data(data, flat)
    return canonical_keys(flat)


def _flatten_system(system: dict[str, object], flat: FlatEvent) -> None:
    for key, value in system.items():
        if isinstance(value, dict):
            attributes = value.get("#attributes")
            if "#text" in value:
                flat[key] = value["#text"]
            if isinstance(attributes, dict):
                for name, attr in attributes.items():
                    flat[f"{key}_{name}"] = attr
                    if key == "TimeCreated" and name == "SystemTime":
                        flat["TimeCreated"] = attr
        elif value is not None:
            flat[key] = value


def _flatten_data(data: dict[str, object], flat: FlatEvent) -> None:
    for key, value in data.items():
        if key == "#attributes":
            continue
        if key == "Data" and isinstance(value, list):
            # Unnamed <Data> elements (classic logs such as PowerShell 400/800) keep their order.
            flat["Data"] = "\n".join(str(v) for v in value if v is not None)
        elif isinstance(value, dict):
            if "#text" in value:
                flat[key] = value["#text"]
            else:
                _flatten_data(value, flat)
        elif value is not None:
            flat[key] = value
