"""Log ingest for the cyber module: syslog in (wire or file), normalised Sigma-named events out.

``normalise`` picks the right program parser for a syslog record; ``read_syslog_file`` and
``read_web_file`` stream a log file lazily with counts of what did not parse, so large files never
sit in memory and a bad line is counted, not fatal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from khusela.cyber.ingest.accesslog import parse_access, parse_error, parse_web
from khusela.cyber.ingest.authlog import parse_auth
from khusela.cyber.ingest.normalise import FIELD_MAP, Event, LogSource
from khusela.cyber.ingest.syslog import Framer, Malformed, SyslogRecord, YearTracker, parse


@dataclass
class ParseStats:
    """Lines seen, parsed, and malformed by reason: the figure an operator checks first."""

    lines: int = 0
    parsed: int = 0
    malformed: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        """Share of lines parsed (1.0 for an empty file: nothing was lost)."""
        return self.parsed / self.lines if self.lines else 1.0

    def count(self, result: object) -> None:
        self.lines += 1
        if isinstance(result, Malformed):
            self.malformed[result.reason] += 1
        else:
            self.parsed += 1


def normalise(record: SyslogRecord) -> Event:
    """The normalised event for any syslog record (auth, firewall or generic)."""
    return parse_auth(record)


def read_syslog_file(path: str | Path, *, year: int, stats: ParseStats | None = None) -> Iterator[Event]:
    """Events from a syslog-format file, in file order; year-less stamps start in ``year`` and roll over."""
    years = YearTracker(year)
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            result = parse(line, year=years.year_for(line))
            if stats is not None:
                stats.count(result)
            if isinstance(result, SyslogRecord):
                yield normalise(result)


def read_web_file(path: str | Path, *, stats: ParseStats | None = None) -> Iterator[Event]:
    """Events from an Apache/Nginx access or error log, in file order."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            result = parse_web(line)
            if stats is not None:
                stats.count(result)
            if isinstance(result, Event):
                yield result


__all__ = [
    "FIELD_MAP",
    "Event",
    "Framer",
    "LogSource",
    "Malformed",
    "ParseStats",
    "SyslogRecord",
    "normalise",
    "parse",
    "parse_access",
    "parse_auth",
    "parse_error",
    "parse_web",
    "read_syslog_file",
    "read_web_file",
]
