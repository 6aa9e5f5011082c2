"""Choosing a forecaster's setting inside its own training data (nested rolling origin).

For a window starting at `start`, the last `inner_weeks` weeks before it are replayed as
pseudo test windows: each candidate setting forecasts inner week k from the history before
that week only, and scores the share of the week's incidents that fall in its top
`coverage` of cells. The candidate with most hits over all inner weeks is used for the real
window. Everything read is before `start`, so the choice itself cannot look ahead; the
price is that it is made on a few hundred incidents and can be noisy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from khusela.risk.forecast.base import DAY, History

WEEK = int(7 * DAY)
Candidates = Callable[[History, int], Sequence[NDArray[np.float64]]]


def top_hits(scores: NDArray[np.float64], cells: NDArray[np.int64], coverage: float) -> int:
    """Incidents (study-cell indices) in the top `coverage` of cells; the remaining ties at
    the cut are broken by cell position, which is the same for every candidate."""
    if len(scores) == 0:
        return 0
    chosen = max(1, round(coverage * len(scores)))
    order = np.lexsort((np.arange(len(scores)), -scores))
    picked = np.zeros(len(scores), dtype=bool)
    picked[order[:chosen]] = True
    inside = cells[cells >= 0]
    return int(picked[inside].sum())


def choose(
    candidates: Candidates,
    history: History,
    start: int,
    *,
    inner_weeks: int,
    coverage: float = 0.05,
) -> tuple[int, NDArray[np.int64]]:
    """Index of the best candidate and every candidate's hits over the inner weeks.
    Ties between candidates go to the lowest index, so list the simplest setting first."""
    past = history.before(start)
    totals: NDArray[np.int64] | None = None
    for k in range(inner_weeks, 0, -1):
        inner = start - k * WEEK
        before = past.before(inner)
        week = past.since(inner).before(inner + WEEK)
        if len(before.times) == 0 or len(week.times) == 0:
            continue
        hits = np.array([top_hits(s, week.cell, coverage) for s in candidates(before, inner)], dtype=np.int64)
        totals = hits if totals is None else totals + hits
    if totals is None:
        return 0, np.zeros(0, dtype=np.int64)
    return int(np.argmax(totals)), totals
