"""Accuracy on real mail (shared data, read in place). The legitimate set is ~20 years older and has
no authentication headers, so accuracy is also measured with those headers stripped from both sets."""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest

from khusela.cyber.phishing import analyse
from tests.services import shared_data

AUTH_HEADERS = re.compile(
    rb"^(?:Authentication-Results|ARC-[\w-]+|Received-SPF|DKIM-Signature):.*\n(?:[ \t].*\n)*", re.M | re.I
)


def confusion(strip_auth: bool) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for label in ("ham", "phish"):
        folder = shared_data("cyber", "phishing", label)
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as handle:
                raw = handle.read()
            if strip_auth:
                raw = AUTH_HEADERS.sub(b"", raw.replace(b"\r\n", b"\n"))
            counts[(label, analyse(raw).verdict)] += 1
    print(f"\nconfusion ({'auth headers stripped' if strip_auth else 'as-is'}):")
    for label in ("ham", "phish"):
        print(f"  {label:5}", {v: counts[(label, v)] for v in ("phishing", "suspicious", "clean")})
    return counts


@pytest.mark.slow
@pytest.mark.parametrize(("strip_auth", "min_recall"), [(False, 0.83), (True, 0.57)])
def test_accuracy_on_real_mail(strip_auth: bool, min_recall: float) -> None:
    counts = confusion(strip_auth)
    phish = sum(counts[("phish", v)] for v in ("phishing", "suspicious", "clean"))
    ham = sum(counts[("ham", v)] for v in ("phishing", "suspicious", "clean"))
    recall = (counts[("phish", "phishing")] + counts[("phish", "suspicious")]) / phish
    ham_phishing = counts[("ham", "phishing")] / ham
    ham_flagged = (counts[("ham", "phishing")] + counts[("ham", "suspicious")]) / ham
    print(f"  phish flagged {recall:.1%}; ham phishing {ham_phishing:.1%}, flagged {ham_flagged:.1%}")
    assert recall >= min_recall
    assert ham_phishing <= 0.02
    assert ham_flagged <= 0.10
