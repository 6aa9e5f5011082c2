"""Rank-average ensemble: each member ranks the cells, and the cells are ordered by their
mean rank. Ranks, not scores, are averaged because the members' scores are on unrelated
scales (counts, densities, intensities). `RankEnsemble` weighs members equally;
`WeightedRankEnsemble` picks weights inside the training data. Neither tunes anything on
the window being scored."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from khusela.risk.forecast.base import Forecaster, History, Study
from khusela.risk.forecast.nested import WEEK, choose


@dataclass(frozen=True, slots=True)
class RankEnsemble:
    members: Sequence[Forecaster]
    name: str = "ensemble"

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        total = np.zeros(len(study.cells), dtype=np.float64)
        for member in self.members:
            total += rankdata(member.predict(history, study, start, horizon))
        return total / max(len(self.members), 1)


def simplex(members: int, step: float = 0.25) -> tuple[tuple[float, ...], ...]:
    """Every weight vector on a grid of `step` whose weights sum to 1; equal weights first, so
    they win ties in the nested choice."""
    units = round(1 / step)
    grid = [w for w in itertools.product(range(units + 1), repeat=members) if sum(w) == units]
    vectors = [tuple(v / units for v in w) for w in grid]
    equal = tuple(1.0 / members for _ in range(members))
    return (equal, *[v for v in vectors if v != equal])


@dataclass(frozen=True, slots=True)
class WeightedRankEnsemble:
    """Weighted mean rank; the weights are chosen for each window by a nested rolling origin
    over the last `inner_weeks` weeks of the training data (`nested.choose`), never on the
    window being scored. Members are re-run at every inner origin, so keep them cheap."""

    members: Sequence[Forecaster]
    inner_weeks: int = 13
    step: float = 0.25
    name: str = "weighted_ensemble"

    def chosen_weights(self, history: History, study: Study, start: int) -> tuple[float, ...]:
        grid = simplex(len(self.members), self.step)

        def candidates(before: History, origin: int) -> list[NDArray[np.float64]]:
            ranks = np.stack([rankdata(m.predict(before, study, origin, WEEK)) for m in self.members])
            return [np.asarray(w) @ ranks for w in grid]

        best, _ = choose(candidates, history, start, inner_weeks=self.inner_weeks)
        return grid[best]

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        past = history.before(start)
        weights = self.chosen_weights(past, study, start)
        ranks = np.stack([rankdata(m.predict(past, study, start, horizon)) for m in self.members])
        return np.asarray(np.asarray(weights) @ ranks, dtype=np.float64)
