"""Run SigmaHQ's regression set (``regression_data/``) against a loaded rule set.

Each case is an EVTX file with the id of the rule it was recorded for and how many events that rule
must fire on. It is the reference test of an engine's correctness, so the test suite and the
benchmark both call :func:`run_regression` rather than keep two copies of the counting rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from khusela.cyber.sigma.evtx import ReadStats, read_evtx
from khusela.cyber.sigma.load import RuleSet
from khusela.cyber.sigma.route import Router


@dataclass(slots=True)
class RegressionResult:
    """How many cases ran and passed, and a line per miss (``folder: hits != expected``)."""

    cases: int = 0
    passed: int = 0
    misses: list[str] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)


def run_regression(ruleset: RuleSet, cases_root: str | Path) -> RegressionResult:
    """Every ``info.yml`` under ``cases_root`` (e.g. ``regression_data/rules/windows``), scored.

    A case passes when its rule fires on exactly ``match_count`` events of its EVTX file (or on at
    least one when the case gives no count). The EVTX path in ``info.yml`` is relative to the folder
    holding ``regression_data``.
    """
    root = Path(cases_root)
    base = next((p.parent for p in (root, *root.parents) if p.name == "regression_data"), root)
    result = RegressionResult()
    by_id = {rule.id: rule for rule in ruleset.rules}
    for info in sorted(root.rglob("info.yml")):
        meta = yaml.safe_load(info.read_text(encoding="utf-8"))
        rule = by_id.get(str(meta["rule_metadata"][0]["id"]))
        for case in meta["regression_tests_info"]:
            result.cases += 1
            expected = case.get("match_count")
            hits = 0
            if rule is not None:
                router = Router([rule])
                hits = sum(
                    len(router.detect(event)) for event in read_evtx(base / case["path"], result.stats)
                )
            if (hits == expected) if expected is not None else hits >= 1:
                result.passed += 1
            else:
                result.misses.append(f"{info.parent.name}: {hits} != {expected}")
    return result
