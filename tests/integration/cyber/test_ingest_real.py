"""Ingest and correlation against the loghub samples (OpenSSH, Linux, Apache), read in place.

The expected brute-force sources are computed here with a plain regex and a list scan, independent
of the parsers and correlator under test, so a parsing gap shows up as a missed attacker.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from khusela.cyber.correlate import CorrelationConfig, Correlator
from khusela.cyber.ingest import ParseStats, read_syslog_file, read_web_file
from tests.services import shared_data

YEAR = 2016  # loghub lines carry no year; any fixed year keeps the windows right
FAILED = re.compile(r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ sshd\[\d+\]: Failed \S+ for .* from (\S+) port \d+")


def expected_brute_force_sources(path: str, failures: int, window: timedelta) -> set[str]:
    """IPs with ``failures`` failed logons inside any ``window``: the rule, computed the simple way."""
    times: dict[str, list[datetime]] = defaultdict(list)
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if m := FAILED.match(line):
                times[m.group(2)].append(datetime.strptime(f"{YEAR} {m.group(1)}", "%Y %b %d %H:%M:%S"))
    found = set()
    for ip, stamps in times.items():
        stamps.sort()
        if any(stamps[i + failures - 1] - stamps[i] <= window for i in range(len(stamps) - failures + 1)):
            found.add(ip)
    return found


def test_openssh_sample_every_brute_force_source_is_caught() -> None:
    path = shared_data("cyber", "syslog", "OpenSSH", "OpenSSH_2k.log")
    stats = ParseStats()
    config = CorrelationConfig()
    correlator = Correlator(config)
    events = list(read_syslog_file(path, year=YEAR, stats=stats))
    correlator.feed_all(events)

    assert stats.rate >= 0.99, stats.malformed
    assert stats.lines == 2000
    expected = expected_brute_force_sources(path, config.brute_force_failures, config.brute_force_window)
    caught = {a.source for a in correlator.alerts if a.kind == "brute_force"}
    assert expected, "the sample holds brute force; an empty expectation means the test regex broke"
    assert expected <= caught
    assert caught <= expected  # nothing flagged that the simple rule would not flag either
    assert all(a.techniques == ("T1110.001",) for a in correlator.alerts if a.kind == "brute_force")
    failures = sum(1 for e in events if e.event_type == "logon_failure")
    assert failures >= 520  # grep -c "Failed password" gives 520; "Failed none" adds a couple


@pytest.mark.parametrize("name", ["Linux", "OpenSSH"])
def test_syslog_samples_parse(name: str) -> None:
    stats = ParseStats()
    events = list(
        read_syslog_file(shared_data("cyber", "syslog", name, f"{name}_2k.log"), year=YEAR, stats=stats)
    )
    assert stats.rate >= 0.99, stats.malformed
    assert sum(stats.malformed.values()) == stats.lines - stats.parsed == stats.lines - len(events)


def test_linux_sample_pam_failures_carry_their_source() -> None:
    events = list(read_syslog_file(shared_data("cyber", "syslog", "Linux", "Linux_2k.log"), year=2005))
    pam = [e for e in events if e.event_type == "pam_auth_failure"]
    assert len(pam) >= 400
    assert sum(1 for e in pam if e.get("SourceIp")) >= 100
    assert all(e.logsource.category == "authentication" for e in pam)


def test_apache_sample_is_an_error_log_with_no_requests_to_attack() -> None:
    """The loghub Apache sample is an error log (mod_jk notices), so there are no URIs to scan for attacks."""
    stats = ParseStats()
    events = list(read_web_file(shared_data("cyber", "syslog", "Apache", "Apache_2k.log"), stats=stats))
    assert stats.rate >= 0.99, stats.malformed
    assert {e.event_type for e in events} == {"web_error"}
    assert Correlator().feed_all(events) == []
