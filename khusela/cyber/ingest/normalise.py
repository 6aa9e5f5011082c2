"""One event shape for every log source, named the way Sigma rules name fields.

Sigma rules are written against Windows/Sysmon and web-server field names, so we keep those names
and map everything else onto them. That lets one rule engine and one correlator read SSH, web and
firewall logs alike; ``logsource`` routes an event to the rules written for its product/service.

Field mapping (short name you may use with ``Event.get`` → stored Sigma-style name):

==============  ==================  =========================================
short name      stored as           meaning
==============  ==================  =========================================
src_ip          SourceIp            the remote party (SSH client, web client)
src_port        SourcePort
dst_ip          DestinationIp
dst_port        DestinationPort     firewall / connection events
user            TargetUserName      account the logon was attempted for
host            Computer            host that wrote the log line
app             Application         syslog APP-NAME / tag
pid             ProcessId
method          cs-method           HTTP method (web logs)
uri             c-uri               path and query as sent
status          sc-status           HTTP status code (int)
useragent       c-useragent
referer         cs-referer
==============  ==================  =========================================

``event_type`` names the outcome (``logon_failure``, ``logon_success``, ``invalid_user``, ``http_request``,
``firewall`` …); for logons ``EventID`` carries the Windows equivalent (4625 failure, 4624 success) so
rules written for Windows logons apply unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from khusela.cyber.ingest.syslog import SyslogRecord

FIELD_MAP: dict[str, str] = {
    "src_ip": "SourceIp",
    "src_port": "SourcePort",
    "dst_ip": "DestinationIp",
    "dst_port": "DestinationPort",
    "user": "TargetUserName",
    "host": "Computer",
    "app": "Application",
    "pid": "ProcessId",
    "method": "cs-method",
    "uri": "c-uri",
    "status": "sc-status",
    "useragent": "c-useragent",
    "referer": "cs-referer",
}

EVENT_IDS = {"logon_failure": 4625, "logon_success": 4624}


@dataclass(frozen=True, slots=True)
class LogSource:
    """Sigma's logsource triple: which rules may look at an event."""

    product: str
    service: str | None = None
    category: str | None = None


@dataclass(slots=True)
class Event(Mapping[str, object]):
    """A normalised event: Sigma-named ``fields`` plus where it came from and the original line.

    Reads like a read-only dict (``event["SourceIp"]``, ``event.get("src_ip")``) so rule matchers need
    not know this class; short names from :data:`FIELD_MAP` resolve to the stored Sigma names.
    """

    event_type: str
    logsource: LogSource
    raw: str
    timestamp: datetime | None = None
    fields: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, key: str) -> object:
        if key == "event_type":
            return self.event_type
        return self.fields[FIELD_MAP.get(key, key)]

    def __iter__(self) -> Iterator[str]:
        yield "event_type"
        yield from self.fields

    def __len__(self) -> int:
        return len(self.fields) + 1

    def text(self, key: str) -> str | None:
        """A field as a string, or ``None`` if absent: what correlation keys need."""
        value = self.get(key)
        return None if value is None else str(value)


def from_syslog(record: SyslogRecord, event_type: str = "syslog", **extra: object) -> Event:
    """The generic event for a syslog record; parsers for specific programs add ``extra`` fields."""
    fields: dict[str, object] = {}
    for short, value in (("host", record.hostname), ("app", record.app_name), ("pid", record.procid)):
        if value is not None:
            fields[FIELD_MAP[short]] = value
    if record.severity is not None:
        fields["Severity"] = record.severity
        fields["Facility"] = record.facility
    for name, extra_value in extra.items():
        if extra_value is not None:
            fields[FIELD_MAP.get(name, name)] = extra_value
    if event_type in EVENT_IDS:
        fields["EventID"] = EVENT_IDS[event_type]
    fields["Message"] = record.message
    return Event(
        event_type=event_type,
        logsource=_logsource(record),
        raw=record.raw,
        timestamp=record.timestamp,
        fields=fields,
    )


_AUTH_APPS = re.compile(r"^(sshd|su|sudo|login|gdm|klogind|ftpd|vsftpd|cron|systemd-logind)\b")
_FIREWALL = re.compile(r"\bSRC=(\S+) DST=(\S+) .*?\bPROTO=(\w+)(?: SPT=(\d+) DPT=(\d+))?")


def _logsource(record: SyslogRecord) -> LogSource:
    app = record.app_name or ""
    if m := _AUTH_APPS.match(app):
        return LogSource("linux", service=m.group(1), category="authentication")
    if app == "kernel" and _FIREWALL.search(record.message):
        return LogSource("linux", service="iptables", category="firewall")
    return LogSource("linux", service=app or None)


def firewall_event(record: SyslogRecord) -> Event | None:
    """An iptables/netfilter LOG line (``SRC=… DST=… PROTO=TCP SPT=… DPT=…``) as a firewall event."""
    m = _FIREWALL.search(record.message)
    if m is None:
        return None
    src, dst, proto, spt, dpt = m.groups()
    return from_syslog(
        record,
        "firewall",
        src_ip=src,
        dst_ip=dst,
        Protocol=proto.lower(),
        src_port=int(spt) if spt else None,
        dst_port=int(dpt) if dpt else None,
    )
