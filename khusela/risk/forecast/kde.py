"""Retrospective kernel density: every past incident in the training window counts
equally, spread over neighbouring cells by a Gaussian kernel.

Smoothing helps where incidents are sparse (a burglary-free block next to a busy one is
still at risk) and hurts where hot spots are sharp; the bandwidth is the trade-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from khusela.risk.forecast.base import History, Study
from khusela.risk.hotspots import gaussian_density


@dataclass(frozen=True, slots=True)
class KernelDensity:
    bandwidth_m: float = 100.0
    name: str = "kde"

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        past = history.before(start)
        return gaussian_density(past.xy, study.xy, self.bandwidth_m)
