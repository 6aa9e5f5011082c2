"""Prospective hotspotting (Bowers, Johnson & Pease 2004).

Burglary risk is raised near a recent burglary for a few weeks ("near repeats"), so each
recent incident lends weight 1/(1 + weeks ago) x 1/(1 + distance in cell spacings) to cells
within `bandwidth_m`, and incidents older than `weeks` are forgotten. It reacts fast and
forgets fast: on its own it misses chronic places that had a quiet month. `base_share` > 0
adds that share of the long-run count to break its many ties (0, the default, is the
published method; the evaluation then breaks ties at random).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from khusela.risk.forecast.base import DAY, History, Study


@dataclass(frozen=True, slots=True)
class Prospective:
    bandwidth_m: float = 400.0
    weeks: float = 8.0
    base_share: float = 0.0
    name: str = "prospective"

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        past = history.before(start)
        recent = past.since(int(start - self.weeks * 7 * DAY))
        scores = np.zeros(len(study.cells), dtype=np.float64)
        if len(recent.times):
            weeks_ago = np.floor((start - recent.times) / (7 * DAY))
            pairs = cKDTree(study.xy).sparse_distance_matrix(
                cKDTree(recent.xy), self.bandwidth_m, output_type="coo_matrix"
            )
            spacings = np.round(pairs.data / study.spacing_m)
            weight = 1.0 / (1.0 + weeks_ago[pairs.col]) / (1.0 + spacings)
            scores += np.bincount(pairs.row, weights=weight, minlength=len(scores))
        if self.base_share > 0:
            inside = past.cell[past.cell >= 0]
            scores += self.base_share * np.bincount(inside, minlength=len(scores))
        return scores
