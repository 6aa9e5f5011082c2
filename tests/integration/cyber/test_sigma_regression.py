"""SigmaHQ's own regression set: every Windows case's EVTX must fire its rule the expected number of
times, and (almost) every SigmaHQ Windows rule must load. Data is read in place from ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from khusela.cyber.sigma import Router, RuleSet, load_rules, read_evtx
from khusela.cyber.sigma.regression import run_regression
from tests.services import shared_data

MIN_PASSING = 188  # of 192; the other four are the reviewed differences below
MIN_LOAD_RATE = 0.995
CASES = ("sigma-regression", "regression_data", "rules", "windows")

# Cases where the reference says 1 but the rule, as written in this SigmaHQ commit, matches more
# events of the case file. Each extra hit was checked by hand: it is a distinct record (its own
# EventRecordID) that satisfies the rule's selection and no filter, so the engine is right and the
# reference count is low (the rules were broadened after the cases were recorded, or the case
# author counted the first hit only). The JSON rendering beside each EVTX holds the same records.
#   folder → (rule id, records that match)
REVIEWED_OVERCOUNTS = {
    # TargetFilename|contains '\AppData\Roaming\AnyDesk\user.conf': user.conf.new (twice, records
    # 14985 and 14990) and user.conf~RF2d9c20d.TMP (14988) all contain it.
    "file_event_win_anydesk_artefact": ("0b9ad457-2554-44c1-82c2-d56a99c42377", {14985, 14988, 14990}),
    # TargetFilename|endswith '\procdump.exe', '\procdump64.exe', '\procdump64a.exe': the case drops
    # all three (records 26359, 26366, 26373).
    "file_event_win_cred_dump_tools_dropped_files": (
        "8fbf3271-1ef6-4e94-8210-03c2317947f6",
        {26359, 26366, 26373},
    ),
    # Three ZoneMap\Domains values (https, http, *) set to DWORD 2, none of the filtered 0/1/(Empty).
    "registry_set_change_security_zones": (
        "45e112d0-7759-4c2a-aa36-9f8fb79d3393",
        {28344631, 28344632, 28344633},
    ),
    # Both AutoShareServer and AutoShareWks set to DWORD 0, each listed by the rule's endswith.
    "registry_set_disable_administrative_share": (
        "c7dcacd0-cc59-4004-b0a4-1d6cdebe6f3e",
        {28656599, 28656618},
    ),
}


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules([shared_data("cyber", "sigma-rules", "rules", "windows")])


def test_windows_regression_cases(ruleset: RuleSet) -> None:
    load_rate = len(ruleset.rules) / ruleset.total
    assert load_rate >= MIN_LOAD_RATE, ruleset.failures[:5]
    result = run_regression(ruleset, shared_data("cyber", *CASES))
    print(f"\nrules loaded {len(ruleset.rules)}/{ruleset.total}; cases passed {result.passed}/{result.cases}")
    assert not result.stats.errors
    assert result.cases == 192
    unexplained = [miss for miss in result.misses if miss.split(":")[0] not in REVIEWED_OVERCOUNTS]
    assert not unexplained
    assert result.passed >= MIN_PASSING, result.misses


@pytest.mark.parametrize("folder", sorted(REVIEWED_OVERCOUNTS))
def test_reviewed_overcounts_hit_exactly_the_checked_records(ruleset: RuleSet, folder: str) -> None:
    rule_id, records = REVIEWED_OVERCOUNTS[folder]
    root = Path(shared_data("cyber", *CASES))
    case = next(root.rglob(folder))
    rule = ruleset.by_id(rule_id)
    assert rule is not None
    router = Router([rule])
    hits = {event["EventRecordID"] for event in read_evtx(next(case.glob("*.evtx"))) if router.detect(event)}
    assert hits == records
