"""Syslog parsing and TCP framing: RFC 5424, RFC 3164 (and the header-less "BSD file" lines that
``/var/log/*`` and the loghub samples hold), plus a framer for TCP streams.

Nothing here raises on bad input: a sensor feeding us garbage must not stop the good lines around it,
so every failure becomes a :class:`Malformed` record with a short, countable reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1
    )
}
MAX_PRI = 191  # facility 23 * 8 + severity 7
MAX_FRAME = 64 * 1024  # larger frames are almost certainly a framing error, not a message


@dataclass(frozen=True, slots=True)
class SyslogRecord:
    """One parsed syslog message. Fields absent from the wire format are ``None``."""

    raw: str
    message: str
    format: str  # "rfc5424" | "rfc3164" | "bsd-file" (no PRI, as written to /var/log)
    facility: int | None = None
    severity: int | None = None
    timestamp: datetime | None = None
    hostname: str | None = None
    app_name: str | None = None
    procid: str | None = None
    msgid: str | None = None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line we could not parse, kept with its reason so it can be counted and inspected."""

    reason: str
    raw: str


_PRI = re.compile(r"<(\d{1,3})>")
_BSD_TS = re.compile(r"([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)? ")
_ISO_TS = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)?) ")
# tag as written by syslog(3), plus loghub's "sshd(pam_unix)[123]:" variant
_TAG = re.compile(r"([^\s\[\]:]{1,48})(?:\[([^\]\s]{1,32})\])?: ?")
_SD_ELEMENT = re.compile(r'\[([^\s=\]"]{1,32})((?:\s+[^\s=\]"]{1,32}="(?:[^"\\]|\\.)*")*)\s*\]')
_SD_PARAM = re.compile(r'([^\s=\]"]{1,32})="((?:[^"\\]|\\.)*)"')
_SD_UNESCAPE = re.compile(r'\\(["\\\]])')


def parse(
    line: str | bytes, *, year: int | None = None, now: datetime | None = None
) -> SyslogRecord | Malformed:
    """Parse one syslog line of any supported flavour.

    ``year`` fills in RFC 3164's missing year; without it the year is guessed from ``now`` so that a
    December line read in January lands in the previous year.
    """
    text = _decode(line)
    if not text.strip():
        return Malformed("empty", text)
    facility = severity = None
    rest = text
    pri = _PRI.match(text)
    if pri:
        value = int(pri.group(1))
        if value > MAX_PRI:
            return Malformed("bad priority", text)
        facility, severity = divmod(value, 8)
        rest = text[pri.end() :]
        if rest.startswith("1 "):
            return _parse_5424(text, rest[2:], facility, severity)
    elif text.startswith("<"):
        return Malformed("bad priority", text)
    return _parse_3164(text, rest, facility, severity, year, now)


def _decode(line: str | bytes) -> str:
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    return line.rstrip("\r\n\x00")


def _parse_3164(  # noqa: PLR0911 - one early return per way an RFC 3164 header can be malformed
    raw: str, rest: str, facility: int | None, severity: int | None, year: int | None, now: datetime | None
) -> SyslogRecord | Malformed:
    timestamp: datetime | None
    if m := _BSD_TS.match(rest):
        month = MONTHS.get(m.group(1))
        if month is None:
            return Malformed("bad timestamp", raw)
        timestamp = _bsd_time(month, *(int(g) for g in m.groups()[1:]), year=year, now=now)
        if timestamp is None:
            return Malformed("bad timestamp", raw)
    elif m := _ISO_TS.match(rest):
        timestamp = _iso_time(m.group(1))
        if timestamp is None:
            return Malformed("bad timestamp", raw)
    elif facility is None:
        return Malformed("no priority or timestamp", raw)
    else:  # RFC 3164 4.3.2: a PRI with no valid header; the relay adds the time, so do we
        return SyslogRecord(raw=raw, message=rest, format="rfc3164", facility=facility, severity=severity)
    rest = rest[m.end() :].lstrip(" ")
    host, _, rest = rest.partition(" ")
    if not host:
        return Malformed("no hostname", raw)
    rest = rest.lstrip(" ")
    app = pid = None
    if tag := _TAG.match(rest):
        app, pid = tag.group(1), tag.group(2)
        rest = rest[tag.end() :]
    return SyslogRecord(
        raw=raw,
        message=rest,
        format="rfc3164" if facility is not None else "bsd-file",
        facility=facility,
        severity=severity,
        timestamp=timestamp,
        hostname=host,
        app_name=app,
        procid=pid,
    )


def _bsd_time(
    month: int, day: int, hour: int, minute: int, second: int, *, year: int | None, now: datetime | None
) -> datetime | None:
    reference = now or datetime.now(UTC)
    try:
        stamp = datetime(year or reference.year, month, day, hour, minute, second, tzinfo=UTC)
        if year is None and stamp > reference.replace(tzinfo=UTC) + timedelta(days=1):
            stamp = stamp.replace(year=stamp.year - 1)
    except ValueError:
        return None
    return stamp


def _iso_time(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _parse_5424(raw: str, rest: str, facility: int, severity: int) -> SyslogRecord | Malformed:
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        return Malformed("rfc5424 header incomplete", raw)
    ts_text, host, app, procid, msgid, tail = parts
    timestamp: datetime | None = None
    if ts_text != "-":
        timestamp = _iso_time(ts_text)
        if timestamp is None:
            return Malformed("bad timestamp", raw)
    if tail.startswith("-"):
        sd: dict[str, dict[str, str]] = {}
        message = tail[1:]
    else:
        parsed = _structured_data(tail)
        if parsed is None:
            return Malformed("bad structured data", raw)
        sd, message = parsed
    message = message.removeprefix(" ").removeprefix("\ufeff")
    return SyslogRecord(
        raw=raw,
        message=message,
        format="rfc5424",
        facility=facility,
        severity=severity,
        timestamp=timestamp,
        hostname=_nil(host),
        app_name=_nil(app),
        procid=_nil(procid),
        msgid=_nil(msgid),
        structured_data=sd,
    )


def _structured_data(text: str) -> tuple[dict[str, dict[str, str]], str] | None:
    sd: dict[str, dict[str, str]] = {}
    pos = 0
    while pos < len(text) and text[pos] == "[":
        element = _SD_ELEMENT.match(text, pos)
        if element is None:
            return None
        sd[element.group(1)] = {k: _SD_UNESCAPE.sub(r"\1", v) for k, v in _SD_PARAM.findall(element.group(2))}
        pos = element.end()
    if pos == 0 or (pos < len(text) and text[pos] != " "):
        return None
    return sd, text[pos:]


def _nil(value: str) -> str | None:
    return None if value == "-" else value


_OCTET_COUNT = re.compile(rb"(\d{1,6}) (?=<)")


class Framer:
    """Split a TCP byte stream into syslog messages (RFC 6587).

    Senders differ: some use octet counting (``57 <34>1 ...``), others end each message with a
    newline, and a relay may mix both on one connection. Feed bytes as they arrive; complete
    messages come out, partial ones wait for the next chunk.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[bytes | Malformed]:
        """Add bytes; return every message now complete, oldest first."""
        self._buffer.extend(data)
        out: list[bytes | Malformed] = []
        while self._buffer:
            count = _OCTET_COUNT.match(self._buffer)
            if count:
                size = int(count.group(1))
                if size > self._max:
                    out.append(Malformed("frame too large", bytes(self._buffer[: count.end()]).decode()))
                    del self._buffer[: count.end()]  # drop the bad header, resync on what follows
                    continue
                end = count.end() + size
                if len(self._buffer) < end:
                    break
                out.append(bytes(self._buffer[count.end() : end]))
                del self._buffer[:end]
                continue
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > self._max:
                    out.append(Malformed("frame too large", _decode(bytes(self._buffer[:200]))))
                    self._buffer.clear()
                break
            frame = bytes(self._buffer[:newline])
            del self._buffer[: newline + 1]
            if frame.strip(b"\r\x00 "):
                out.append(frame)
        return out

    def close(self) -> list[bytes | Malformed]:
        """The connection ended: a trailing unterminated line is a message, a short counted frame is not."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        if not rest.strip():
            return []
        if _OCTET_COUNT.match(rest):
            return [Malformed("truncated frame", _decode(rest))]
        return [rest]


class YearTracker:
    """Give year-less (RFC 3164) file lines a year that rolls over when the months wrap (Dec → Jan)."""

    def __init__(self, start_year: int) -> None:
        self.year = start_year
        self._last_month = 0

    def year_for(self, line: str) -> int:
        """The year to parse ``line`` with; call once per line, in file order."""
        pri = _PRI.match(line)
        m = _BSD_TS.match(line, pri.end() if pri else 0)
        if m and (month := MONTHS.get(m.group(1))):
            if month < self._last_month - 6:
                self.year += 1
            self._last_month = month
        return self.year


__all__ = ["Framer", "Malformed", "SyslogRecord", "YearTracker", "parse"]
