"""What every forecaster is given and must return.

A forecaster sees only the incidents before the window (`History`) and the cells it must
score (`Study`); it returns one score per study cell, higher meaning "more incidents
expected in the next `horizon` seconds". Only the order of scores matters to the
evaluation, so scores need not be calibrated counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Study:
    """The cells to score: H3 ids (sorted), centres on the local plane, spacing of centres."""

    cells: NDArray[np.int64]
    xy: NDArray[np.float64]
    spacing_m: float

    def index_of(self, cells: NDArray[np.int64]) -> NDArray[np.int64]:
        """Position of each cell in `cells`, or -1 for cells outside the study area."""
        if len(self.cells) == 0:
            return np.full(len(cells), -1, dtype=np.int64)
        pos = np.searchsorted(self.cells, cells).clip(0, len(self.cells) - 1)
        return np.where(self.cells[pos] == cells, pos, -1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class History:
    """Incidents before the window: seconds, plane coordinates, study-cell index (-1 outside)."""

    times: NDArray[np.int64]
    xy: NDArray[np.float64]
    cell: NDArray[np.int64]

    def before(self, start: int) -> History:
        keep = self.times < start
        return History(self.times[keep], self.xy[keep], self.cell[keep])

    def since(self, start: int) -> History:
        keep = self.times >= start
        return History(self.times[keep], self.xy[keep], self.cell[keep])


class Forecaster(Protocol):
    """Scores every study cell for the window [start, start + horizon)."""

    @property
    def name(self) -> str:
        """Short method name used in reports (naive, kde, …)."""
        ...

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        """One score per study cell, computed from `history` strictly before `start`."""
        ...
