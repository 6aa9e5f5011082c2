"""Where incidents concentrate now: counts per H3 cell, kernel density, and Getis-Ord Gi*.

Counts say where incidents were; kernel density smooths them so that a block between two
busy blocks is not called safe; Gi* asks whether a cell *and its neighbours* hold more
than the study area would by chance, which is what an analyst means by "hotspot". Gi*
p-values are corrected for the many cells tested (Benjamini-Hochberg), since with
thousands of cells some would look significant by luck alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import cKDTree

from khusela.risk import grid


def counts(cells: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distinct cells (sorted) and how many incidents fall in each."""
    unique, n = np.unique(cells, return_counts=True)
    return unique, n.astype(np.int64)


def gaussian_density(
    points: NDArray[np.float64],
    targets: NDArray[np.float64],
    bandwidth_m: float,
    weights: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Σ w·K(target - point) with a Gaussian kernel per m², cut at 3 bandwidths.

    Identical points are merged first, and only pairs within the cut-off are visited, so the
    cost grows with the number of near pairs, not with points x targets.
    """
    out = np.zeros(len(targets), dtype=np.float64)
    if len(points) == 0 or len(targets) == 0:
        return out
    w = np.ones(len(points)) if weights is None else weights
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    merged = np.bincount(inverse.reshape(-1), weights=w, minlength=len(unique))
    pairs = cKDTree(targets).sparse_distance_matrix(
        cKDTree(unique), 3.0 * bandwidth_m, output_type="coo_matrix"
    )
    kernel = np.exp(-0.5 * (pairs.data / bandwidth_m) ** 2) / (2.0 * np.pi * bandwidth_m**2)
    out += np.bincount(pairs.row, weights=kernel * merged[pairs.col], minlength=len(targets))
    return out


@dataclass(frozen=True, slots=True)
class GiStar:
    """Gi* per cell: z-score, two-sided p, BH-adjusted q, and whether it is a hot spot."""

    cells: NDArray[np.int64]
    counts: NDArray[np.int64]
    z: NDArray[np.float64]
    p: NDArray[np.float64]
    q: NDArray[np.float64]
    hot: NDArray[np.bool_]


def getis_ord(incident_cells: NDArray[np.int64], k: int = 1, alpha: float = 0.05) -> GiStar:
    """Gi* over the cells with incidents plus their k-ring neighbours (zero-count cells are
    part of the study area, or every cell would look average). Binary weights over
    `grid_disk(cell, k)`, the cell itself included (the "star")."""
    seen, n_seen = counts(incident_cells)
    region = np.unique(np.concatenate([np.asarray(grid.disk(int(c), k), dtype=np.int64) for c in seen]))
    x = np.zeros(len(region), dtype=np.float64)
    x[np.searchsorted(region, seen)] = n_seen
    n = len(region)
    rows, cols = [], []
    for i, cell in enumerate(region):
        neighbours = np.asarray(grid.disk(int(cell), k), dtype=np.int64)
        pos = np.searchsorted(region, neighbours).clip(0, n - 1)
        inside = region[pos] == neighbours
        rows.append(np.full(int(inside.sum()), i))
        cols.append(pos[inside])
    r, c = np.concatenate(rows), np.concatenate(cols)
    local = np.bincount(r, weights=x[c], minlength=n)
    w_sum = np.bincount(r, minlength=n).astype(np.float64)
    mean, sd = x.mean(), x.std()
    denom = sd * np.sqrt((n * w_sum - w_sum**2) / max(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 0, (local - mean * w_sum) / denom, 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    q = stats.false_discovery_control(p, method="bh")
    hot = (z > 0) & (q < alpha)
    return GiStar(region, x.astype(np.int64), z, p, q, hot)
