"""Long-term count blended with recent and neighbouring counts.

Score = (count in the training year) + a x (counts of the six H3 neighbours, `grid_disk(1)`)
+ b x (incidents of the last `weeks` weeks, weighted 1/(1 + weeks ago)). Place dominates
crime data, so the long-term count stays the backbone; the neighbour term lets a cell that
was quiet next to busy ones rise above an isolated cell with one old incident; the recent
term lets a new spree rise. Remaining ties are ordered by the long-term count, then the
neighbour count, then a 100 m kernel density (see `ties`), so the evaluation's random
tie-break rarely decides anything.

With `weights=None` (the default), (a, b) is chosen afresh for every window by a nested
rolling origin over the last `inner_weeks` weeks of the training data (see `nested`), from
the grid `GRID`; (0, 0) — the naive count with deterministic ties — is always a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import h3.api.basic_int as h3i
import numpy as np
from numpy.typing import NDArray

from khusela.risk.forecast.base import DAY, History, Study
from khusela.risk.forecast.nested import choose
from khusela.risk.forecast.ties import lexicographic
from khusela.risk.hotspots import gaussian_density

GRID: tuple[tuple[float, float], ...] = tuple(
    (a, b) for a in (0.0, 0.05, 0.1, 0.2, 0.3) for b in (0.0, 0.25, 0.5, 1.0)
)


@lru_cache(maxsize=8)
def _neighbour_pairs(cells: bytes) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(cell, neighbour) index pairs among the study cells (sorted H3 ids as bytes)."""
    ids = np.frombuffer(cells, dtype=np.int64)
    position = {int(c): i for i, c in enumerate(ids)}
    rows: list[int] = []
    cols: list[int] = []
    for i, cell in enumerate(ids):
        for other in h3i.grid_disk(int(cell), 1):
            j = position.get(int(other))
            if j is not None and j != i:
                rows.append(i)
                cols.append(j)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Signals:
    """Per-cell inputs of the blend at one origin."""

    long: NDArray[np.float64]
    neighbours: NDArray[np.float64]
    recent: NDArray[np.float64]

    @classmethod
    def at(cls, history: History, study: Study, start: int, days: float, weeks: float) -> Signals:
        """Counts from `history` before `start`. The long-term count is scaled to a full
        `days` when less history is held (as in the inner weeks of the nested choice), so
        the weights mean the same thing at every origin."""
        n = len(study.cells)
        past = history.before(start).since(int(start - days * DAY))
        inside = past.cell >= 0
        cell = past.cell[inside]
        span = (start - float(past.times.min())) / DAY if len(past.times) else days
        scale = days / min(max(span, 7.0), days)
        long = np.bincount(cell, minlength=n).astype(np.float64) * scale
        rows, cols = _neighbour_pairs(study.cells.tobytes())
        neighbours = np.bincount(rows, weights=long[cols], minlength=n).astype(np.float64)
        age_weeks = np.floor((start - past.times[inside]) / (7 * DAY))
        young = age_weeks < weeks
        recent = np.bincount(cell[young], weights=1.0 / (1.0 + age_weeks[young]), minlength=n).astype(
            np.float64
        )
        return cls(long, neighbours, recent)

    def score(self, a: float, b: float) -> NDArray[np.float64]:
        return self.long + a * self.neighbours + b * self.recent


@dataclass(frozen=True, slots=True)
class Blend:
    weights: tuple[float, float] | None = None
    days: float = 365.0
    weeks: float = 8.0
    inner_weeks: int = 13
    tie_bandwidth_m: float = 100.0
    name: str = "blend"

    def chosen_weights(self, history: History, study: Study, start: int) -> tuple[float, float]:
        """The fixed weights, or those the nested rolling origin picks for this window."""
        if self.weights is not None:
            return self.weights

        def candidates(before: History, origin: int) -> list[NDArray[np.float64]]:
            s = Signals.at(before, study, origin, self.days, self.weeks)
            return [lexicographic(s.score(a, b), s.long, s.neighbours) for a, b in GRID]

        best, _ = choose(candidates, history, start, inner_weeks=self.inner_weeks)
        return GRID[best]

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        past = history.before(start)
        a, b = self.chosen_weights(past, study, start)
        s = Signals.at(past, study, start, self.days, self.weeks)
        density = gaussian_density(past.xy, study.xy, self.tie_bandwidth_m)
        return lexicographic(s.score(a, b), s.long, s.neighbours, density)
