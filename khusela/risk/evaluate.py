"""Rolling-origin backtest: how often would the top cells of each forecast have held the
incidents that then happened?

The walk starts `train_days` after the first incident; each window of `test_days` is
forecast by every method from the `train_days` before it only, then scored. The study area
of a window is every cell with at least one incident before it; test incidents outside it
still count in the denominator (as misses), so no method gains by ignoring new places.

For coverage c, the top round(c x cells) cells are chosen (ties broken at random with a
fixed seed, so a method with many equal scores is not flattered by the cell order):
hit rate = test incidents in them / all test incidents; area share = chosen / study cells;
PAI = hit rate / area share (1 = no better than picking cells at random). The figure to
quote is the pooled one: all windows' hits over all windows' incidents.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from khusela.risk import grid
from khusela.risk.forecast.base import DAY, Forecaster, History, Study
from khusela.risk.incidents import Incidents

COVERAGES = (0.01, 0.05, 0.10)
CURVE = np.linspace(0.0, 0.3, 61)[1:]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Incidents with their H3 cell and plane coordinates, computed once for every window."""

    times: NDArray[np.int64]
    xy: NDArray[np.float64]
    cells: NDArray[np.int64]
    all_cells: NDArray[np.int64]
    all_xy: NDArray[np.float64]
    resolution: int

    @classmethod
    def of(cls, incidents: Incidents, resolution: int) -> Prepared:
        inc = incidents.sorted_by_time()
        plane = grid.Plane.around(inc.lat, inc.lon)
        cells = grid.cells_of(inc.lat, inc.lon, resolution)
        all_cells = np.unique(cells)
        lat, lon = grid.centroids(all_cells)
        return cls(inc.times, plane.xy(inc.lat, inc.lon), cells, all_cells, plane.xy(lat, lon), resolution)

    def study(self, start: int) -> Study:
        """Cells with at least one incident before `start`."""
        before = np.unique(self.cells[: int(np.searchsorted(self.times, start))])
        pos = np.searchsorted(self.all_cells, before)
        return Study(before, self.all_xy[pos], grid.cell_spacing_m(self.resolution))

    def history(self, study: Study, since: int, until: int) -> History:
        lo, hi = np.searchsorted(self.times, [since, until])
        return History(self.times[lo:hi], self.xy[lo:hi], study.index_of(self.cells[lo:hi]))


@dataclass(slots=True)
class Tally:
    """Hits and incidents summed over windows for one method."""

    incidents: int = 0
    hits: dict[float, int] = field(default_factory=dict)
    area_weighted: dict[float, float] = field(default_factory=dict)
    curve_hits: NDArray[np.float64] = field(default_factory=lambda: np.zeros(len(CURVE)))
    seconds: float = 0.0

    def add(
        self, n: int, hits: dict[float, int], shares: dict[float, float], curve: NDArray[np.float64]
    ) -> None:
        self.incidents += n
        for c, hit in hits.items():
            self.hits[c] = self.hits.get(c, 0) + hit
            self.area_weighted[c] = self.area_weighted.get(c, 0.0) + shares[c] * n
        self.curve_hits += curve

    def pooled(self) -> dict[str, dict[str, float]]:
        return {
            _label(c): _figures(self.hits[c], self.incidents, self.area_weighted[c] / max(self.incidents, 1))
            for c in self.hits
        }


def _label(coverage: float) -> str:
    return f"{coverage * 100:g}%"


def _figures(hits: int, n: int, share: float) -> dict[str, float]:
    rate = hits / n if n else float("nan")
    return {
        "hits": hits,
        "hit_rate": rate,
        "area_share": share,
        "pai": rate / share if share > 0 else float("nan"),
    }


def rank_cells(scores: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.intp]:
    """Cell indices from highest to lowest score, ties in random order."""
    return np.lexsort((rng.random(len(scores)), -scores))


def score_window(
    scores: NDArray[np.float64],
    test_cells: NDArray[np.int64],
    coverages: Sequence[float],
    rng: np.random.Generator,
) -> tuple[dict[float, int], dict[float, float], NDArray[np.float64]]:
    """Hits and area share per coverage, and hits along the PAI curve, for one window."""
    k = len(scores)
    order = rank_cells(scores, rng)
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    inside = test_cells[test_cells >= 0]
    event_rank = np.sort(rank[inside])
    hits, shares = {}, {}
    for c in coverages:
        chosen = max(1, round(c * k))
        hits[c] = int(np.searchsorted(event_rank, chosen))
        shares[c] = chosen / k
    chosen_curve = np.maximum(1, np.round(CURVE * k)).astype(np.int64)
    curve = np.searchsorted(event_rank, chosen_curve).astype(np.float64)
    return hits, shares, curve


@dataclass(slots=True)
class Backtest:
    """Per-window and pooled results of a rolling-origin backtest."""

    settings: dict[str, Any]
    windows: list[dict[str, Any]] = field(default_factory=list)
    tallies: dict[str, Tally] = field(default_factory=dict)

    def as_dict(self, include_windows: bool = True) -> dict[str, Any]:
        methods = {
            name: {"pooled": t.pooled(), "incidents": t.incidents, "seconds": round(t.seconds, 3)}
            for name, t in self.tallies.items()
        }
        out: dict[str, Any] = {"settings": self.settings, "methods": methods}
        if include_windows:
            out["windows"] = self.windows
        return out

    def curve(self, method: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Pooled PAI against area share (the share is nominal: round-off per window aside)."""
        t = self.tallies[method]
        return CURVE, t.curve_hits / max(t.incidents, 1) / CURVE


def backtest(
    prepared: Prepared,
    methods: Sequence[Forecaster],
    train_days: float,
    test_days: float,
    *,
    first: int | None = None,
    last: int | None = None,
    coverages: Sequence[float] = COVERAGES,
    seed: int = 0,
) -> Backtest:
    """Walk consecutive `test_days` windows from `first` (default: `train_days` after the first
    incident) while a whole window fits before `last` (default: the last incident)."""
    if len(prepared.times) == 0:
        raise ValueError("no incidents to evaluate")
    if train_days <= 0 or test_days <= 0:
        raise ValueError("--train-days and --test-days must be positive")
    train, test = int(train_days * DAY), int(test_days * DAY)
    start = int(prepared.times[0]) + train if first is None else first
    end = int(prepared.times[-1]) + 1 if last is None else last
    result = Backtest(
        {
            "train_days": train_days,
            "test_days": test_days,
            "cell_resolution": prepared.resolution,
            "coverages": [_label(c) for c in coverages],
            "seed": seed,
        }
    )
    result.tallies = {m.name: Tally() for m in methods}
    while start + test <= end:
        study = prepared.study(start)
        history = prepared.history(study, start - train, start)
        future = prepared.history(study, start, start + test)
        row: dict[str, Any] = {
            "start": _iso(start),
            "end": _iso(start + test),
            "incidents": len(future.times),
            "study_cells": len(study.cells),
            "methods": {},
        }
        for method in methods:
            began = time.perf_counter()
            scores = method.predict(history, study, start, test) if len(study.cells) else np.zeros(0)
            result.tallies[method.name].seconds += time.perf_counter() - began
            if len(study.cells) == 0:
                continue
            # the same tie-break draw for every method in a window, whatever the line-up
            rng = np.random.default_rng((seed, len(result.windows)))
            hits, shares, curve = score_window(scores, future.cell, coverages, rng)
            result.tallies[method.name].add(len(future.times), hits, shares, curve)
            row["methods"][method.name] = {
                _label(c): _figures(hits[c], len(future.times), shares[c]) for c in coverages
            }
        result.windows.append(row)
        start += test
    if not result.windows:
        raise ValueError("the data is too short for one training period plus one test window")
    return result


def _iso(seconds: int) -> str:
    return str(np.datetime64(seconds, "s"))
