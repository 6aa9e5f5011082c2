"""Phishing analyser benchmark: precision, recall and false-positive rates on the real mail in
../shared/data/cyber/phishing (read in place), per feature family, and messages per second.

    .venv/bin/python -m bench.cyber_phishing

The legitimate set is ~20 years older than the phishing and carries no authentication headers,
so every figure is measured twice: as the files are, and with `Authentication-Results`, `ARC-*`,
`Received-SPF` and `DKIM-Signature` removed from both sets ("stripped", the honest figure).
Recall is counted two ways: "phishing" verdicts only, and "flagged" = phishing or suspicious
(what a SOC queue sends to review); each false-positive rate counts the same verdicts as its recall.
Thresholds were tuned on the even-indexed files (sorted by name) of each folder; the odd half is
reported separately as the held-out check.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Target, fmt, print_table, write_results
from khusela.cyber.phishing.evidence import FAMILIES
from khusela.cyber.phishing.score import examine, judge

DATA = Path(os.environ.get("KHUSELA_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
MAIL = DATA / "cyber" / "phishing"
AUTH_HEADERS = re.compile(
    rb"^(?:Authentication-Results|ARC-[\w-]+|Received-SPF|DKIM-Signature):.*\n(?:[ \t].*\n)*", re.M | re.I
)
RECALL_TARGET, FPR_TARGET, HARD_FPR_TARGET, RATE_TARGET = 0.95, 0.01, 0.03, 50.0


@dataclass(frozen=True)
class Scored:
    name: str
    phish: bool
    hard: bool
    tuning: bool  # in the even-indexed half used to choose weights and thresholds
    verdict: str
    families: frozenset[str]


def strip_auth(raw: bytes) -> bytes:
    """The message without the headers only modern mail carries (the era tell)."""
    return AUTH_HEADERS.sub(b"", raw.replace(b"\r\n", b"\n"))


def load(root: Path = MAIL) -> list[tuple[str, bool, bool, bytes]]:
    """(name, is phishing, is hard-ham, raw bytes) for every message, sorted by folder then name."""
    mails = []
    for label in ("ham", "phish"):
        for index, name in enumerate(sorted(os.listdir(root / label))):
            raw = (root / label / name).read_bytes()
            mails.append((f"{label}/{name}#{index}", label == "phish", name.startswith("hard-ham"), raw))
    return mails


def score_all(mails: list[tuple[str, bool, bool, bytes]], stripped: bool) -> tuple[list[Scored], float]:
    """Every message scored; also the messages per second of `examine` + `judge` alone."""
    out: list[Scored] = []
    busy = 0.0
    for key, phish, hard, raw in mails:
        data = strip_auth(raw) if stripped else raw
        started = time.perf_counter()
        findings = examine(data)
        verdict = judge(findings).verdict
        busy += time.perf_counter() - started
        index = int(key.rpartition("#")[2])
        out.append(
            Scored(
                key.partition("#")[0],
                phish,
                hard,
                index % 2 == 0,
                verdict,
                frozenset(f.family for f in findings),
            )
        )
    return out, len(mails) / busy if busy else float("nan")


def rates(scored: Sequence[Scored], flagged: frozenset[str]) -> dict[str, float | int]:
    phish = [s for s in scored if s.phish]
    ham = [s for s in scored if not s.phish]
    hard = [s for s in ham if s.hard]
    tp = sum(s.verdict in flagged for s in phish)
    fp = sum(s.verdict in flagged for s in ham)
    return {
        "phish": len(phish),
        "ham": len(ham),
        "true_positives": tp,
        "false_positives": fp,
        "recall": tp / len(phish) if phish else float("nan"),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "fpr": fp / len(ham) if ham else float("nan"),
        "fpr_hard_ham": sum(s.verdict in flagged for s in hard) / len(hard) if hard else float("nan"),
        "false_positives_hard_ham": sum(s.verdict in flagged for s in hard),
    }


COUNTING = {"phishing_only": frozenset({"phishing"}), "flagged": frozenset({"phishing", "suspicious"})}


def families(scored: Sequence[Scored]) -> dict[str, dict[str, float]]:
    """For each feature family: the share of phishing, legitimate and hard-ham messages it fires on."""
    groups = {
        "phish": [s for s in scored if s.phish],
        "ham": [s for s in scored if not s.phish],
        "hard_ham": [s for s in scored if s.hard],
    }
    return {
        family: {g: sum(family in s.families for s in items) / len(items) for g, items in groups.items()}
        for family in FAMILIES
    }


def measure() -> dict[str, object]:
    """All figures, for both variants: overall, tuning half, held-out half, per family, speed."""
    mails = load()
    figures: dict[str, object] = {"messages": len(mails)}
    for variant, stripped in (("as_is", False), ("stripped", True)):
        scored, per_second = score_all(mails, stripped)
        figures[variant] = {
            "messages_per_second": per_second,
            "verdicts": {
                kind: dict(Counter(s.verdict for s in scored if s.phish == (kind == "phish")))
                for kind in ("phish", "ham")
            },
            **{
                subset: {count: rates(part, flagged) for count, flagged in COUNTING.items()}
                for subset, part in (
                    ("all", scored),
                    ("tuning_half", [s for s in scored if s.tuning]),
                    ("held_out_half", [s for s in scored if not s.tuning]),
                )
            },
            "families": families(scored),
            "misses": sorted(s.name for s in scored if s.phish and s.verdict == "clean"),
            "false_alarms": sorted(
                f"{s.name}: {s.verdict}" for s in scored if not s.phish and s.verdict != "clean"
            ),
        }
    return figures


def _targets(figures: dict[str, object]) -> list[Target]:
    stripped = figures["stripped"]
    assert isinstance(stripped, dict)
    targets = []
    for count, label in (("flagged", "phishing or suspicious"), ("phishing_only", "phishing verdict only")):
        r = stripped["all"][count]
        basis = f"headers stripped, counting {label}"
        targets += [
            Target(f"recall ({count})", basis, r["recall"], RECALL_TARGET, "", True),
            Target(f"false-positive rate ({count})", basis, r["fpr"], FPR_TARGET, "", False),
            Target(
                f"false-positive rate, hard-ham ({count})",
                basis,
                r["fpr_hard_ham"],
                HARD_FPR_TARGET,
                "",
                False,
            ),
        ]
    targets.append(
        Target(
            "speed", "single process, stripped", stripped["messages_per_second"], RATE_TARGET, "msg/s", True
        )
    )
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    figures = measure()
    rows = []
    for variant in ("as_is", "stripped"):
        v = figures[variant]
        assert isinstance(v, dict)
        for subset in ("all", "tuning_half", "held_out_half"):
            for count in COUNTING:
                r = v[subset][count]
                rows.append(
                    [f"{variant} {subset} {count}", fmt(r["precision"], 3), fmt(r["recall"], 3),
                     fmt(r["fpr"], 3), fmt(r["fpr_hard_ham"], 3), f"{r['true_positives']}/{r['phish']}",
                     f"{r['false_positives']}/{r['ham']}"]
                )  # fmt: skip
    print_table(
        "Phishing accuracy", ["set / counting", "precision", "recall", "FPR", "FPR hard", "TP", "FP"], rows
    )
    for variant in ("as_is", "stripped"):
        v = figures[variant]
        assert isinstance(v, dict)
        print_table(
            f"Feature families ({variant}): share of messages each fires on",
            ["family", "phish", "ham", "hard-ham"],
            [
                [f, fmt(s["phish"], 2), fmt(s["ham"], 2), fmt(s["hard_ham"], 2)]
                for f, s in v["families"].items()
            ],
        )
        print(f"{variant}: {fmt(v['messages_per_second'], 1)} messages/s; misses {len(v['misses'])}; "
              f"false alarms {v['false_alarms']}")  # fmt: skip
    targets = _targets(figures)
    print_table(
        "Targets (headers stripped)",
        ["target", "value", "limit", "pass"],
        [[t.name, fmt(t.value, 3), fmt(t.limit, 3), "yes" if t.passed else "NO"] for t in targets],
    )
    print(f"\nwrote {write_results('cyber_phishing', figures, targets)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
