"""Scan log files of any supported kind with Sigma rules: what ``khusela cyber scan`` runs.

Windows events (EVTX, or JSON/NDJSON/zip exports) go through :class:`~khusela.cyber.sigma.route.Router`;
text logs (syslog/``auth.log``, Apache/Nginx access and error logs) become
:class:`~khusela.cyber.ingest.Event` objects that carry their own Sigma logsource, and meet the rules
written for that product/service/category. The kind of a file is told by its name (``.evtx``,
``.json``/``.jsonl``/``.ndjson``/``.zip``) or, for text, by its first line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# `jsonlog` is imported as a module, not names: it imports this package, so either may load first.
from khusela.cyber.ingest import (
    Event,
    LogSource,
    ParseStats,
    jsonlog,
    parse_web,
    read_syslog_file,
    read_web_file,
)
from khusela.cyber.sigma.evtx import ReadStats, read_evtx
from khusela.cyber.sigma.load import CompiledRule
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
    "SourceIp",
    "DestinationIp",
    "QueryName",
    "cs-method",
    "c-uri",
    "sc-status",
    "c-useragent",
)
TEXT_KINDS = ("syslog", "web")


@dataclass(slots=True)
class ScanStats:
    """Files, events and what could not be read, per input kind, for the summary line."""

    files: int = 0
    windows: ReadStats = field(default_factory=ReadStats)
    text: ParseStats = field(default_factory=ParseStats)

    @property
    def events(self) -> int:
        return self.windows.events + self.text.parsed

    @property
    def malformed(self) -> int:
        return self.windows.malformed_count + sum(self.text.malformed.values())


@dataclass(frozen=True, slots=True)
class Detection:
    """One rule firing on one event, with where the event came from."""

    rule: CompiledRule
    event: Mapping[str, object]
    file: Path
    line: int | None = None
    time: str | None = None


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named by ``paths``: files as given, folders searched recursively (hidden files skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".") and _known(p))
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(f"{path} does not exist")
    return found


def _known(path: Path) -> bool:
    return path.suffix.lower() in (".evtx", ".log", ".txt", "") or jsonlog.is_json_path(path)


def file_kind(path: Path) -> str:
    """``evtx``, ``json``, ``web`` or ``syslog``: by suffix, else by whether the first line is a web log."""
    suffix = path.suffix.lower()
    if suffix == ".evtx":
        return "evtx"
    if jsonlog.is_json_path(path):
        return "json"
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = next((line for line in handle if line.strip()), "")
    return "web" if isinstance(parse_web(first), Event) else "syslog"


class Scanner:
    """All rules, routed per event: Windows rules by channel and EventID, others by their logsource."""

    def __init__(self, rules: Iterable[CompiledRule], *, year: int | None = None) -> None:
        self.rules = list(rules)
        self.router = Router(rule for rule in self.rules if rule.product == "windows")
        self._by_source: dict[LogSource, tuple[CompiledRule, ...]] = {}
        self.year = year or datetime.now(UTC).year

    def scan(self, files: Iterable[Path], stats: ScanStats) -> Iterator[Detection]:
        """Every detection in ``files``, file by file, in event order."""
        for file in files:
            stats.files += 1
            kind = file_kind(file)
            if kind == "evtx":
                for event in read_evtx(file, stats.windows):
                    for rule in self.router.detect(event):
                        yield Detection(rule, event, file, None, _text(event.get("TimeCreated")))
            elif kind == "json":
                for record in jsonlog.read_json_file(file, stats.windows):
                    for rule in self.router.detect(record.fields):
                        yield Detection(
                            rule, record.fields, file, record.line, _text(record.fields.get("TimeCreated"))
                        )
            else:
                reader = (
                    read_web_file(file, stats=stats.text)
                    if kind == "web"
                    else read_syslog_file(file, year=self.year, stats=stats.text)
                )
                for text_event in reader:
                    for rule in self.rules_for_source(text_event.logsource):
                        if rule.matcher(text_event):
                            stamp = text_event.timestamp.isoformat() if text_event.timestamp else None
                            yield Detection(rule, text_event, file, None, stamp)

    def rules_for_source(self, source: LogSource) -> tuple[CompiledRule, ...]:
        """Rules whose logsource admits a text-log event's (each given part must agree)."""
        found = self._by_source.get(source)
        if found is None:
            found = tuple(
                rule
                for rule in self.rules
                if rule.product != "windows"
                and (rule.product is None or rule.product == source.product)
                and (rule.service is None or rule.service == source.service)
                and (rule.category is None or rule.category == source.category)
                and (rule.product, rule.service, rule.category) != (None, None, None)
            )
            self._by_source[source] = found
        return found


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def detection_record(found: Detection) -> dict[str, object]:
    """One detection as the JSON object the CLI prints (the rule's author is shown, as DRL 1.1 asks)."""
    event, rule = found.event, found.rule
    record: dict[str, object] = {
        "rule_id": rule.id,
        "title": rule.title,
        "author": rule.author,
        "level": rule.level,
        "tags": list(rule.tags),
        "time": found.time,
        "host": event.get("Computer"),
        "event_id": event.get("EventID"),
        "channel": event.get("Channel"),
        "file": str(found.file),
        "fields": {name: event[name] for name in KEY_FIELDS if event.get(name) is not None},
    }
    if found.line is not None:
        record["line"] = found.line
    if isinstance(event, Event):
        record["event_type"] = event.event_type
        record["raw"] = event.raw
    return record
