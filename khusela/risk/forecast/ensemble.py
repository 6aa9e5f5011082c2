"""Rank-average ensemble: each member ranks the cells, and the cells are ordered by their
mean rank. Ranks, not scores, are averaged because the members' scores are on unrelated
scales (counts, densities, intensities). Members are fixed in advance, so nothing is tuned
on the window being scored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from khusela.risk.forecast.base import Forecaster, History, Study


@dataclass(frozen=True, slots=True)
class RankEnsemble:
    members: Sequence[Forecaster]
    name: str = "ensemble"

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        total = np.zeros(len(study.cells), dtype=np.float64)
        for member in self.members:
            total += rankdata(member.predict(history, study, start, horizon))
        return total / max(len(self.members), 1)
