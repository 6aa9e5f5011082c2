"""Sliding-window correlation over normalised events: brute force, password spraying, port scans and
web attacks, each raised as an alert tagged with its MITRE ATT&CK technique.

Single log lines rarely matter; the pattern across them does. Each detector keeps a short window of
recent events per source and raises when a threshold is crossed. Repeats while the attack continues
fold into the same alert (its ``count`` and ``last_seen`` grow) so an analyst sees one alert per
attack, not one per packet. Events must arrive roughly in time order; events without a timestamp
cannot be placed in a window and are ignored.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from khusela.cyber.ingest.normalise import Event

TECHNIQUES = {
    "brute_force": ("T1110.001",),
    "password_spraying": ("T1110.003",),
    "port_scan": ("T1046",),
    "web_attack": ("T1190",),
    "web_scanner": ("T1595.002",),  # vulnerability scanning: reconnaissance, not yet exploitation
}

# named web-attack patterns, matched against the URL-decoded URI (and the user agent for scanners)
WEB_ATTACKS: dict[str, tuple[re.Pattern[str], str]] = {
    "sql_injection": (
        re.compile(
            r"(?i)(\bunion\b.{0,40}\bselect\b|\bselect\b.{0,80}\bfrom\b|'\s*(or|and)\s+'?\d+'?\s*=\s*'?\d+"
            r"|\bsleep\s*\(\s*\d+\s*\)|\bbenchmark\s*\(|information_schema|;\s*drop\s+table|\bxp_cmdshell\b"
            r"|'\s*--|\bor\s+1\s*=\s*1\b)"
        ),
        "high",
    ),
    "xss": (
        re.compile(
            r"(?i)(<\s*script\b|javascript:|\bon(error|load|mouseover|focus)\s*=|<\s*(img|svg|iframe)\b)"
        ),
        "medium",
    ),
    "path_traversal": (
        re.compile(r"(?i)(\.\./|\.\.\\|/etc/passwd|/etc/shadow|boot\.ini|win\.ini|/proc/self/)"),
        "high",
    ),
}
SCANNER_AGENTS = re.compile(
    r"(?i)\b(nikto|sqlmap|nmap|masscan|zgrab|nuclei|wpscan|dirbuster|gobuster|ffuf|acunetix|nessus|"
    r"openvas|w3af|hydra|havij|zmeu|jorgee)\b"
)


@dataclass
class CorrelationConfig:
    """Thresholds and windows; the defaults suit an internet-facing host."""

    brute_force_failures: int = 5
    brute_force_window: timedelta = timedelta(seconds=60)
    spray_accounts: int = 5
    spray_window: timedelta = timedelta(minutes=10)
    scan_ports: int = 15
    scan_window: timedelta = timedelta(seconds=60)
    web_window: timedelta = timedelta(minutes=5)
    failure_types: frozenset[str] = frozenset({"logon_failure"})
    samples: int = 5


@dataclass
class Alert:
    """One detected attack from one source; ``count`` is how many events it has absorbed."""

    kind: str
    source: str
    first_seen: datetime
    last_seen: datetime
    count: int
    severity: str
    techniques: tuple[str, ...]
    samples: list[Event] = field(default_factory=list)
    detail: dict[str, object] = field(default_factory=dict)
    reported: int = 0
    """How much of `count` the live pipeline has already turned into alerts."""


class _Window:
    """Events from one source within a time span, oldest first."""

    def __init__(self) -> None:
        self.items: deque[tuple[datetime, str, Event]] = deque()

    def add(self, when: datetime, value: str, event: Event, span: timedelta) -> None:
        self.items.append((when, value, event))
        while self.items and self.items[0][0] < when - span:
            self.items.popleft()

    def distinct(self) -> set[str]:
        return {value for _, value, _ in self.items}


class Correlator:
    """Feed events in time order; read raised alerts from :meth:`feed` or all of them from :attr:`alerts`."""

    def __init__(self, config: CorrelationConfig | None = None) -> None:
        self.config = config or CorrelationConfig()
        self.alerts: list[Alert] = []
        self._windows: dict[tuple[str, str], _Window] = defaultdict(_Window)
        self._open: dict[tuple[str, str], Alert] = {}
        self.latest: datetime | None = None

    def feed_all(self, events: Iterable[Event]) -> list[Alert]:
        """Feed many events; return the alerts raised (aggregated ones appear once)."""
        raised: list[Alert] = []
        for event in events:
            raised.extend(self.feed(event))
        return raised

    def feed(self, event: Event) -> list[Alert]:
        """Correlate one event; return any alert it newly raised (updates to open alerts are not returned)."""
        when = event.timestamp
        source = event.text("SourceIp")
        if when is None or source is None:
            return []
        if self.latest is None or when > self.latest:
            self.latest = when
        cfg = self.config
        raised: list[Alert] = []
        if event.event_type in cfg.failure_types:
            user = event.text("TargetUserName") or "?"
            raised += self._threshold(
                "brute_force", source, user, event, cfg.brute_force_window, cfg.brute_force_failures, False
            )
            raised += self._threshold(
                "password_spraying", source, user, event, cfg.spray_window, cfg.spray_accounts, True
            )
        port = event.text("DestinationPort")
        if port is not None and event.event_type in {"firewall", "connection"}:
            raised += self._threshold("port_scan", source, port, event, cfg.scan_window, cfg.scan_ports, True)
        if event.event_type == "http_request":
            raised += self._web(source, event)
        return raised

    def _threshold(
        self, kind: str, source: str, value: str, event: Event, span: timedelta, needed: int, distinct: bool
    ) -> list[Alert]:
        assert event.timestamp is not None  # checked by feed
        when = event.timestamp
        window = self._windows[(kind, source)]
        window.add(when, value, event, span)
        if self._extend(kind, source, event, span):
            alert = self._open[(kind, source)]
            alert.detail["values"] = sorted(set(_values(alert)) | window.distinct())
            return []
        reached = len(window.distinct()) if distinct else len(window.items)
        if reached < needed:
            return []
        alert = Alert(
            kind=kind,
            source=source,
            first_seen=window.items[0][0],
            last_seen=when,
            count=len(window.items),
            severity="high" if kind != "port_scan" else "medium",
            techniques=TECHNIQUES[kind],
            samples=[e for _, _, e in list(window.items)[: self.config.samples]],
            detail={"values": sorted(window.distinct())},
        )
        return self._raise(kind, source, alert)

    def _web(self, source: str, event: Event) -> list[Alert]:
        assert event.timestamp is not None  # checked by feed
        uri = event.text("c-uri-decoded") or event.text("c-uri") or ""
        hits = [(name, sev) for name, (pattern, sev) in WEB_ATTACKS.items() if pattern.search(uri)]
        agent = event.text("c-useragent") or ""
        if m := SCANNER_AGENTS.search(agent):
            hits.append((f"scanner:{m.group(1).lower()}", "low"))
        raised: list[Alert] = []
        for name, severity in hits:
            kind = "web_scanner" if name.startswith("scanner:") else "web_attack"
            key = f"{kind}:{name}"
            if self._extend(key, source, event, self.config.web_window):
                continue
            alert = Alert(
                kind=kind,
                source=source,
                first_seen=event.timestamp,
                last_seen=event.timestamp,
                count=1,
                severity=severity,
                techniques=TECHNIQUES[kind],
                samples=[event],
                detail={"rule": name},
            )
            raised += self._raise(key, source, alert)
        return raised

    def _extend(self, key: str, source: str, event: Event, span: timedelta) -> bool:
        """Fold ``event`` into the open alert for (key, source) if that alert was active within ``span``."""
        alert = self._open.get((key, source))
        if alert is None or event.timestamp is None or event.timestamp - alert.last_seen > span:
            return False
        alert.count += 1
        alert.last_seen = event.timestamp
        if len(alert.samples) < self.config.samples:
            alert.samples.append(event)
        return True

    def forget_idle(self, horizon: timedelta) -> int:
        """Drop alerts, open alerts and windows with no event for `horizon` of event time
        before the newest event; returns how many alerts went. For the live pipeline, which
        would otherwise keep every source it ever saw (a later event from a forgotten source
        starts afresh, and the SOC queue still folds it into the same alert for the hour)."""
        if self.latest is None:
            return 0
        cutoff = self.latest - horizon
        kept = [alert for alert in self.alerts if alert.last_seen >= cutoff]
        forgotten = len(self.alerts) - len(kept)
        self.alerts = kept
        self._open = {key: alert for key, alert in self._open.items() if alert.last_seen >= cutoff}
        idle = [
            key for key, window in self._windows.items() if not window.items or window.items[-1][0] < cutoff
        ]
        for key in idle:
            del self._windows[key]
        return forgotten

    def _raise(self, key: str, source: str, alert: Alert) -> list[Alert]:
        self._open[(key, source)] = alert
        self.alerts.append(alert)
        return [alert]


def _values(alert: Alert) -> list[str]:
    values = alert.detail.get("values", [])
    return [str(v) for v in values] if isinstance(values, list) else []
