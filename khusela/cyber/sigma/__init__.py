"""Sigma detection engine: load SigmaHQ rules, route events by logsource, report detections.

``load`` parses and compiles rules, ``compile`` turns conditions into matchers, ``route`` picks the
rules for each event's logsource and ``evtx`` reads Windows event logs. :func:`scan_files` ties them
together for the ``khusela cyber scan`` command and the regression test.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from khusela.cyber.sigma.evtx import FlatEvent, ReadStats, read_evtx
from khusela.cyber.sigma.load import CompiledRule, RuleFailure, RuleSet, load_rules, load_text
from khusela.cyber.sigma.route import Router

KEY_FIELDS = (
    "Image",
    "CommandLine",
    "ParentImage",
    "TargetFilename",
    "TargetObject",
    "Details",
    "ImageLoaded",
    "SourceImage",
    "TargetImage",
    "User",
    "TargetUserName",
    "DestinationIp",
    "QueryName",
)

__all__ = [
    "CompiledRule",
    "ReadStats",
    "Router",
    "RuleFailure",
    "RuleSet",
    "detection_record",
    "evtx_files",
    "load_rules",
    "load_text",
    "scan_files",
]


def evtx_files(paths: Iterable[str | Path]) -> list[Path]:
    """The EVTX files named by ``paths`` (files as given, folders searched recursively)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".evtx"))
        elif path.exists():
            found.append(path)
        else:
            raise ValueError(f"{path} does not exist")
    return found


def scan_files(
    router: Router, files: Iterable[Path], stats: ReadStats
) -> Iterator[tuple[CompiledRule, FlatEvent, Path]]:
    """Every (rule, event, file) detection in ``files``; unreadable records only count in ``stats``."""
    for file in files:
        for event in read_evtx(file, stats):
            for rule in router.detect(event):
                yield rule, event, file


def detection_record(rule: CompiledRule, event: FlatEvent, file: Path) -> dict[str, object]:
    """One detection as the JSON object the CLI prints."""
    return {
        "rule_id": rule.id,
        "title": rule.title,
        "author": rule.author,
        "level": rule.level,
        "tags": list(rule.tags),
        "time": event.get("TimeCreated"),
        "host": event.get("Computer"),
        "event_id": event.get("EventID"),
        "channel": event.get("Channel"),
        "file": str(file),
        "fields": {name: event[name] for name in KEY_FIELDS if name in event},
    }
