"""Deterministic ties, the nested choice of weights, and the blend forecaster."""

from __future__ import annotations

from dataclasses import replace

import h3.api.basic_int as h3i
import numpy as np
import pytest

from khusela.risk.forecast.base import DAY, History, Study
from khusela.risk.forecast.blend import Blend
from khusela.risk.forecast.ensemble import WeightedRankEnsemble, simplex
from khusela.risk.forecast.naive import NaiveCount
from khusela.risk.forecast.nested import WEEK, choose
from khusela.risk.forecast.sepp import SelfExciting
from khusela.risk.forecast.ties import lexicographic

START = 400 * int(DAY)


def test_ties_are_broken_by_the_next_key_and_only_full_ties_remain() -> None:
    primary = np.array([1.0, 1.0, 0.0, 0.0, 2.0])
    secondary = np.array([0.2, 0.5, 0.0, 0.0, 0.0])
    rank = lexicographic(primary, secondary)
    assert list(np.argsort(-rank, kind="stable")[:3]) == [4, 1, 0]  # the 0.5 beats the 0.2
    assert rank[2] == rank[3]  # equal on every key: left for the evaluation's random draw
    assert lexicographic(np.zeros(0)).size == 0


def _study() -> Study:
    centre = h3i.latlng_to_cell(49.25, -123.1, 10)
    cells = np.array(sorted(h3i.grid_disk(centre, 3)), dtype=np.int64)
    xy = np.column_stack([np.arange(len(cells)) * 65.0, np.zeros(len(cells))])
    return Study(cells, xy, 65.0)


def _history(cell: list[int], days_before: list[float]) -> History:
    times = np.array([START - d * DAY for d in days_before], dtype=np.int64)
    order = np.argsort(times)
    cells = np.array(cell, dtype=np.int64)[order]
    xy = np.column_stack([cells * 65.0, np.zeros(len(cells))])
    return History(times[order], xy, cells)


def test_nested_choice_reads_nothing_from_the_window_and_picks_what_worked_before() -> None:
    # cell 5 is busy every week; cell 9 had one burst long ago
    busy = [5] * 30 + [9] * 10
    days = list(np.linspace(1, 300, 30)) + [350.0] * 10
    history = _history(busy, days)

    def candidates(before: History, origin: int) -> list[np.ndarray]:
        old = np.zeros(40)
        old[9] = 1.0
        return [old, NaiveCount(days=28).predict(before, _study(), origin, WEEK)]

    best, hits = choose(candidates, history, START, inner_weeks=8)
    assert best == 1
    assert hits[1] > hits[0]
    leaky = _history([*busy, 9, 9, 9], [*days, -1.0, -2.0, -3.0])  # incidents inside the window
    assert choose(candidates, leaky, START, inner_weeks=8)[0] == best


def test_blend_ranks_a_quiet_cell_among_busy_neighbours_above_an_isolated_one() -> None:
    study = _study()
    rows, cols = [], []
    ids = {int(c): i for i, c in enumerate(study.cells)}
    target = ids[int(h3i.latlng_to_cell(49.25, -123.1, 10))]  # the centre: all 6 neighbours inside
    neighbours = [ids[int(c)] for c in h3i.grid_disk(int(study.cells[target]), 1) if ids[int(c)] != target]
    isolated = next(i for i in range(len(study.cells)) if i != target and i not in neighbours)
    for n in neighbours:
        rows += [n] * 3
    rows += [target, isolated]
    cols = list(np.linspace(10, 300, len(rows)))
    scores = Blend(weights=(0.2, 0.0)).predict(_history(rows, cols), study, START, WEEK)
    assert scores[target] > scores[isolated]
    naive = NaiveCount().predict(_history(rows, cols), study, START, WEEK)
    assert naive[target] == naive[isolated]  # the naive count cannot tell them apart


def test_weight_grid_sums_to_one_and_starts_with_equal_weights() -> None:
    grid = simplex(3, 0.25)
    assert grid[0] == (1 / 3, 1 / 3, 1 / 3)
    assert all(abs(sum(w) - 1.0) < 1e-9 for w in grid)
    assert len(set(grid)) == len(grid) == 16


def test_weighted_ensemble_ignores_the_window() -> None:
    study = _study()
    cells = [5] * 20 + [7] * 5
    days = list(np.linspace(1, 200, 25))
    ens = WeightedRankEnsemble([NaiveCount(), NaiveCount(days=28)], inner_weeks=6)
    clean = ens.predict(_history(cells, days), study, START, WEEK)
    leaky = ens.predict(_history([*cells, 9, 9], [*days, -1.0, -2.0]), study, START, WEEK)
    assert np.array_equal(clean, leaky)


def test_sepp_count_share_mixes_the_kernel_background_with_each_cells_own_count() -> None:
    study = Study(
        np.array([1, 2, 3], dtype=np.int64), np.array([[0.0, 0.0], [65.0, 0.0], [130.0, 0.0]]), 65.0
    )
    cells = [0] * 12 + [1] * 4 + [2] * 2
    history = _history(cells, list(np.linspace(5, 300, len(cells))))
    plain = SelfExciting(background_bandwidth_m=200.0)
    model = plain.fit(history, START)
    kernel = plain.background(model, history, study, START)
    count = replace(plain, count_share=1.0).background(model, history, study, START)
    half = replace(plain, count_share=0.5).background(model, history, study, START)
    assert count / count.sum() == pytest.approx([12 / 18, 4 / 18, 2 / 18])  # the counts, not a blur
    assert kernel[0] / kernel[1] < 3.0  # the 200 m kernel smooths the 12-to-4 contrast away
    assert half == pytest.approx((kernel + count) / 2)
    forecast = plain.forecast(model, history, study, START, WEEK)
    assert np.array_equal(plain.predict(history, study, START, WEEK), forecast)
