"""Hotspots: Gi* must find a planted cluster and not much else."""

from __future__ import annotations

import numpy as np

from khusela.risk import grid
from khusela.risk.hotspots import counts, gaussian_density, getis_ord


def test_gi_star_finds_a_planted_cluster() -> None:
    rng = np.random.default_rng(1)
    lat = rng.uniform(-26.25, -26.15, 4000)
    lon = rng.uniform(28.00, 28.10, 4000)
    centre = (-26.2, 28.05)
    lat = np.concatenate([lat, rng.normal(centre[0], 0.001, 300)])
    lon = np.concatenate([lon, rng.normal(centre[1], 0.001, 300)])
    gi = getis_ord(grid.cells_of(lat, lon, 8), k=1)
    cluster_cell = grid.cells_of(np.array([centre[0]]), np.array([centre[1]]), 8)[0]
    hot_cells = set(gi.cells[gi.hot].tolist())
    assert cluster_cell in hot_cells
    near = set(grid.disk(int(cluster_cell), 2))
    assert len(hot_cells - near) <= 2  # the uniform background yields (almost) no false hot spots


def test_counts_and_density_agree_on_where_incidents_are() -> None:
    cells, n = counts(np.array([5, 3, 5, 5], dtype=np.int64))
    assert cells.tolist() == [3, 5]
    assert n.tolist() == [1, 3]
    points = np.array([[0.0, 0.0], [0.0, 0.0], [1000.0, 0.0]])
    dens = gaussian_density(points, np.array([[0.0, 0.0], [1000.0, 0.0], [500.0, 0.0]]), 50.0)
    assert dens[0] == 2 * dens[1]
    assert dens[2] == 0.0
