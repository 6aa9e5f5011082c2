"""SigmaHQ's own regression set: every Windows case's EVTX must fire its rule the expected number of
times, and (almost) every SigmaHQ Windows rule must load. Data is read in place from ../shared."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from khusela.cyber.sigma import ReadStats, Router, load_rules, scan_files
from tests.services import shared_data

MIN_PASSING = 188  # of 192; the 4 misses fire on several events where the case file expects 1
MIN_LOAD_RATE = 0.995


def test_windows_regression_cases() -> None:
    rules_dir = shared_data("cyber", "sigma-rules", "rules", "windows")
    regression = Path(shared_data("cyber", "sigma-regression"))
    ruleset = load_rules([rules_dir])
    load_rate = len(ruleset.rules) / ruleset.total
    print(f"\nrules loaded {len(ruleset.rules)}/{ruleset.total} ({load_rate:.2%})")
    assert load_rate >= MIN_LOAD_RATE, ruleset.failures[:5]
    passed, failed, cases = 0, [], 0
    stats = ReadStats()
    started = time.perf_counter()
    for info in sorted((regression / "regression_data" / "rules" / "windows").rglob("info.yml")):
        meta = yaml.safe_load(info.read_text(encoding="utf-8"))
        rule = ruleset.by_id(meta["rule_metadata"][0]["id"])
        for case in meta["regression_tests_info"]:
            cases += 1
            expected = case.get("match_count")
            hits = 0
            if rule is not None:
                router = Router([rule])
                hits = sum(1 for _ in scan_files(router, [regression / case["path"]], stats))
            # A case without match_count only asks for a detection.
            if (hits == expected) if expected is not None else hits >= 1:
                passed += 1
            else:
                failed.append(f"{info.parent.name}: {hits} != {expected}")
    elapsed = time.perf_counter() - started
    print(
        f"regression cases passed {passed}/{cases}; {stats.events} events in {elapsed:.2f}s; misses {failed}"
    )
    assert not stats.errors
    assert cases == 192
    assert passed >= MIN_PASSING, failed
