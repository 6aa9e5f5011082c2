"""Correlation windows: thresholds, aggregation of repeats, and the ATT&CK tags on each alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from khusela.cyber.correlate import CorrelationConfig, Correlator
from khusela.cyber.ingest.normalise import Event, LogSource

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SSH = LogSource("linux", "sshd", "authentication")


def failure(seconds: float, ip: str = "198.51.100.7", user: str = "root") -> Event:
    return Event(
        "logon_failure",
        SSH,
        f"Failed password for {user} from {ip}",
        T0 + timedelta(seconds=seconds),
        {"SourceIp": ip, "TargetUserName": user, "EventID": 4625},
    )


def web(uri: str, agent: str = "Mozilla/5.0", ip: str = "203.0.113.9", seconds: float = 0) -> Event:
    return Event(
        "http_request",
        LogSource("apache", "access", "webserver"),
        uri,
        T0 + timedelta(seconds=seconds),
        {"SourceIp": ip, "c-uri": uri, "c-uri-decoded": uri, "c-useragent": agent},
    )


def test_brute_force_needs_threshold_within_window() -> None:
    slow = Correlator()
    assert slow.feed_all(failure(i * 20) for i in range(5)) == []  # 5 failures over 80 s: not within 60 s
    fast = Correlator()
    alerts = fast.feed_all(failure(i * 10) for i in range(5))
    assert [a.kind for a in alerts] == ["brute_force"]
    alert = alerts[0]
    assert (alert.source, alert.count, alert.techniques, alert.severity) == (
        "198.51.100.7",
        5,
        ("T1110.001",),
        "high",
    )
    assert alert.first_seen == T0
    assert alert.last_seen == T0 + timedelta(seconds=40)
    assert len(alert.samples) == 5


def test_repeats_aggregate_into_one_alert_until_the_attack_pauses() -> None:
    c = Correlator()
    c.feed_all(failure(i * 5) for i in range(40))
    assert len(c.alerts) == 1
    assert c.alerts[0].count == 40
    c.feed_all(failure(3600 + i) for i in range(5))  # an hour later: a new attack, a new alert
    assert [a.count for a in c.alerts] == [40, 5]


def test_sources_are_kept_apart() -> None:
    c = Correlator()
    c.feed_all(failure(i, ip=f"10.0.0.{i % 2}") for i in range(8))
    assert c.alerts == []


def test_password_spraying_counts_distinct_accounts() -> None:
    c = Correlator(CorrelationConfig(brute_force_failures=100))
    alerts = c.feed_all(failure(i * 30, user=f"user{i}") for i in range(5))
    assert [(a.kind, a.techniques) for a in alerts] == [("password_spraying", ("T1110.003",))]
    assert alerts[0].detail["values"] == [f"user{i}" for i in range(5)]


def test_port_scan_from_firewall_events() -> None:
    fw = LogSource("linux", "iptables", "firewall")
    events = [
        Event(
            "firewall",
            fw,
            "",
            T0 + timedelta(seconds=i),
            {"SourceIp": "192.0.2.1", "DestinationPort": 1000 + i},
        )
        for i in range(20)
    ]
    alerts = Correlator().feed_all(events)
    assert [(a.kind, a.techniques, a.count) for a in alerts] == [("port_scan", ("T1046",), 20)]
    assert Correlator().feed_all(e for e in events[:14]) == []


def test_web_attacks_by_name() -> None:
    c = Correlator()
    c.feed(web("/item?id=1' OR '1'='1"))
    c.feed(web("/search?q=<script>alert(1)</script>"))
    c.feed(web("/static/../../../../etc/passwd"))
    c.feed(web("/", agent="Mozilla/5.00 (Nikto/2.1.6)"))
    c.feed(web("/index.html"))
    rules = {(a.kind, str(a.detail["rule"]), a.techniques) for a in c.alerts}
    assert rules == {
        ("web_attack", "sql_injection", ("T1190",)),
        ("web_attack", "xss", ("T1190",)),
        ("web_attack", "path_traversal", ("T1190",)),
        ("web_scanner", "scanner:nikto", ("T1595.002",)),
    }


def test_web_repeats_aggregate() -> None:
    c = Correlator()
    c.feed_all(web(f"/p?id=1 UNION SELECT {i}", seconds=i) for i in range(10))
    assert len(c.alerts) == 1
    assert c.alerts[0].count == 10


def test_events_without_time_or_source_are_ignored() -> None:
    e = failure(0)
    e.timestamp = None
    assert Correlator().feed(e) == []
