"""The baseline every other method must beat: last year's count per cell.

It is what an analyst does by hand ("patrol where it happened last year"), and in crime
data it is hard to beat because place matters far more than recent history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from khusela.risk.forecast.base import DAY, History, Study


@dataclass(frozen=True, slots=True)
class NaiveCount:
    """Incidents per cell in the `days` before the window."""

    days: float = 365.0
    name: str = "naive"

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        recent = history.before(start).since(int(start - self.days * DAY))
        inside = recent.cell[recent.cell >= 0]
        return np.bincount(inside, minlength=len(study.cells)).astype(np.float64)
