"""Sigma correlation rules (event_count, value_count) over real SSH logs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from khusela.cyber.ingest import read_syslog_file
from khusela.cyber.sigma import load_rules
from khusela.cyber.soc.alerts import Detection
from khusela.cyber.soc.pipeline import IDLE_HORIZON, Arrival, Detector

OPENSSH = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cyber" / "syslog" / "OpenSSH"

RULES = """\
title: SSH Failed Password
name: ssh_failed_password
id: 3d1c2b0a-1f2e-4c5d-8e9f-0a1b2c3d4e5f
status: test
author: Khusela tests
logsource:
  product: linux
  service: sshd
detection:
  selection:
    event_type: logon_failure
  condition: selection
level: low
---
title: SSH Password Guessing From One Source
id: 7e6f5d4c-3b2a-4190-8f7e-6d5c4b3a2910
status: test
author: Khusela tests
correlation:
  type: event_count
  rules:
    - ssh_failed_password
  group-by:
    - SourceIp
  timespan: 2m
  condition:
    gte: 20
level: high
---
title: SSH Many Accounts Tried From One Source
id: 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
status: test
author: Khusela tests
correlation:
  type: value_count
  rules:
    - ssh_failed_password
  group-by:
    - SourceIp
  timespan: 10m
  condition:
    field: TargetUserName
    gte: 5
level: medium
"""


def _detections(tmp_path: Path) -> list[Detection]:
    (tmp_path / "ssh.yml").write_text(RULES)
    ruleset = load_rules([tmp_path])
    assert not ruleset.failures
    assert len(ruleset.correlations) == 2
    events = list(read_syslog_file(OPENSSH / "OpenSSH_2k.log", year=2026))
    now = datetime.now(UTC)
    detector = Detector(ruleset.rules, correlations=ruleset.correlations)
    found: list[Detection] = []
    for start in range(0, len(events), 250):  # batches, as the live pipeline sees them
        found += detector.run([Arrival(e, e.raw, now, 0.0) for e in events[start : start + 250]])
    return found


def test_event_count_correlation_catches_the_brute_force_source_once(tmp_path: Path) -> None:
    found = [d for d in _detections(tmp_path) if d.title == "SSH Password Guessing From One Source"]
    sources = {d.source for d in found}
    assert "183.62.140.253" in sources
    total = sum(d.count for d in found if d.source == "183.62.140.253")
    assert total > 200, "its later failures grow the same firing instead of raising new ones"
    first = next(d for d in found if d.source == "183.62.140.253" and d.samples)
    assert first.author == "Khusela tests"


def test_base_rules_of_a_correlation_do_not_alert_on_every_match(tmp_path: Path) -> None:
    found = _detections(tmp_path)
    assert not [d for d in found if d.title == "SSH Failed Password"]


def test_value_count_correlation_counts_distinct_accounts(tmp_path: Path) -> None:
    found = [d for d in _detections(tmp_path) if d.title == "SSH Many Accounts Tried From One Source"]
    assert found
    assert all(d.detail["measure"] >= 5 for d in found if d.samples)


def test_a_long_running_pipeline_forgets_idle_sources_and_reports_new_attacks_in_full(tmp_path: Path) -> None:
    """The live detector keeps no state for sources idle for an hour of event time, and an
    attacker who returns after that is reported afresh, with the whole count and samples."""
    (tmp_path / "ssh.yml").write_text(RULES)
    ruleset = load_rules([tmp_path])
    detector = Detector(ruleset.rules, correlations=ruleset.correlations)
    start = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)

    def attack(source: str, minute: int, tries: int = 25) -> list[Detection]:
        at = start.replace(hour=1 + minute // 60, minute=minute % 60)
        lines = [
            f"{at:%b %d %H:%M:%S} host sshd[1]: Failed password for root from {source} port 22 ssh2\n"
            for _ in range(tries)
        ]
        log = tmp_path / f"{source}-{minute}.log"
        log.write_text("".join(lines))
        events = list(read_syslog_file(log, year=2026))
        return detector.run([Arrival(e, e.raw, datetime.now(UTC), 0.0) for e in events])

    def guessing(found: list[Detection], source: str) -> list[Detection]:
        return [d for d in found if d.title == "SSH Password Guessing From One Source" and d.source == source]

    for n in range(200):
        assert guessing(attack(f"10.0.{n // 250}.{n % 250}", 0), f"10.0.{n // 250}.{n % 250}")
    first = guessing(attack("203.0.113.9", 1), "203.0.113.9")
    assert [(d.count, bool(d.samples)) for d in first] == [(25, True)]
    grown = guessing(attack("203.0.113.9", 2, tries=3), "203.0.113.9")
    assert [(d.count, bool(d.samples)) for d in grown] == [(3, False)], "growth reports only the delta"

    attack("198.51.100.1", 150, tries=1)  # event time moves on two and a half hours
    detector.forget_idle()
    assert not detector.correlator.alerts
    assert detector.sigma_correlations.forget_idle(IDLE_HORIZON) == 0, "the idle windows are already gone"

    back = guessing(attack("203.0.113.9", 151), "203.0.113.9")
    assert [(d.count, bool(d.samples)) for d in back] == [(25, True)]
