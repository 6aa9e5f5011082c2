"""Scoring: hit rates and PAI must follow from their definitions."""

from __future__ import annotations

import numpy as np

from khusela.risk.evaluate import score_window


def test_scores_follow_the_definitions() -> None:
    rng = np.random.default_rng(0)
    scores = np.arange(100, dtype=np.float64)  # cell 99 ranks first
    test_cells = np.array([99, 99, 98, 50, 0, -1], dtype=np.int64)  # -1: outside the study area
    hits, shares, curve = score_window(scores, test_cells, (0.01, 0.05, 0.10), rng)
    assert hits == {0.01: 2, 0.05: 3, 0.1: 3}
    assert shares == {0.01: 0.01, 0.05: 0.05, 0.1: 0.1}
    assert curve[-1] <= len(test_cells)


def test_ties_are_broken_at_random_not_by_cell_order() -> None:
    scores = np.zeros(1000)
    test_cells = np.zeros(50, dtype=np.int64)  # every incident in cell 0
    hit_counts = [
        score_window(scores, test_cells, (0.05,), np.random.default_rng(s))[0][0.05] for s in range(40)
    ]
    assert 0 < np.mean(hit_counts) < 10  # a fixed order would always (or never) pick cell 0
