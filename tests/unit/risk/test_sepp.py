"""SEPP: EM must recover the parameters of a simulated Hawkes process, roughly."""

from __future__ import annotations

import numpy as np

from khusela.risk.forecast.sepp import fit


def simulate(
    rng: np.random.Generator,
    days: float,
    side_m: float,
    background_per_day: float,
    theta: float,
    omega: float,
    sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Background events uniform in a square, each event having Poisson(θ) children."""
    n0 = rng.poisson(background_per_day * days)
    t = list(rng.uniform(0, days, n0))
    xy = list(rng.uniform(0, side_m, (n0, 2)))
    queue = list(range(n0))
    while queue:
        i = queue.pop()
        for _ in range(rng.poisson(theta)):
            tc = t[i] + rng.exponential(1 / omega)
            if tc < days:
                t.append(tc)
                xy.append(xy[i] + rng.normal(0, sigma, 2))
                queue.append(len(t) - 1)
    order = np.argsort(t)
    return np.asarray(t)[order], np.asarray(xy)[order]


def test_em_recovers_simulated_hawkes_parameters() -> None:
    rng = np.random.default_rng(3)
    t, xy = simulate(rng, days=730, side_m=5000, background_per_day=8, theta=0.4, omega=0.2, sigma=60)
    model = fit(t, xy, 730, max_days=40, max_m=400, background_bandwidth_m=400, min_sigma_m=1, max_omega=50)
    assert abs(model.theta - 0.4) < 0.1
    assert abs(1 / model.omega - 5) < 1.5
    assert abs(model.sigma_m - 60) < 12


def test_no_triggering_gives_small_theta() -> None:
    rng = np.random.default_rng(4)
    t, xy = simulate(rng, days=365, side_m=5000, background_per_day=10, theta=0.0, omega=1, sigma=1)
    model = fit(t, xy, 365, background_bandwidth_m=400, min_sigma_m=1)
    assert model.theta < 0.05
