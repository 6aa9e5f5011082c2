"""The naive count with deterministic tie-breaking: last year's count, then the count of the
six neighbouring cells, then a 100 m kernel density. Same information as `naive` (plus
where the neighbours' incidents were), no random draw at small counts; see `ties`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from khusela.risk.forecast.base import History, Study
from khusela.risk.forecast.blend import Blend


@dataclass(frozen=True, slots=True)
class RankedCount:
    days: float = 365.0
    tie_bandwidth_m: float = 100.0
    name: str = "naive_ranked"

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        inner = Blend(weights=(0.0, 0.0), days=self.days, tie_bandwidth_m=self.tie_bandwidth_m)
        return inner.predict(history, study, start, horizon)
