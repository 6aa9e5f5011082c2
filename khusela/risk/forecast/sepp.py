"""Self-exciting point process (Mohler et al. 2011), fitted by expectation-maximisation.

Intensity λ(t, x) = μ(x) + Σ_{t_j < t} θ ω e^{-ω (t - t_j)} phi(x - x_j): a steady background
μ (a Gaussian kernel over the events judged to be background) plus short-lived "aftershocks"
of each incident (θ offspring on average, mean delay 1/ω days, spread sigma metres, φ Gaussian).

EM alternates between the probability that each event was triggered by each earlier event
(E) and closed-form parameter updates (M). Only pairs closer than `max_days` and `max_m`
can be parent and child, so one iteration costs O(n·k) for k near neighbours in space-time
(found with one k-d tree over (x, y, scaled t) and the max-norm), not O(n²).

Floors on sigma and on 1/ω stop a known collapse: data snapped to the hundred block put many
events at one point minutes apart, and unconstrained EM then shrinks the trigger to a spike
that explains those duplicates and nothing about next week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from khusela.risk.forecast.base import DAY, History, Study
from khusela.risk.hotspots import gaussian_density


@dataclass(frozen=True, slots=True)
class Raster:
    """A square-pixel grid over the data, so the background kernel is one Gaussian filter
    per EM iteration (cost set by the area, not by the number of events or their pairs)."""

    origin: tuple[float, float]
    pixel_m: float
    shape: tuple[int, int]

    @classmethod
    def covering(cls, xy: NDArray[np.float64], bandwidth_m: float, max_pixels: int = 4_000_000) -> Raster:
        pad = 4 * bandwidth_m
        low, high = xy.min(axis=0) - pad, xy.max(axis=0) + pad
        pixel = min(bandwidth_m / 2, 50.0)
        while np.prod(np.ceil((high - low) / pixel) + 1) > max_pixels:
            pixel *= 1.5
        shape = tuple(int(v) for v in np.ceil((high - low) / pixel) + 1)
        return cls((float(low[0]), float(low[1])), pixel, (shape[0], shape[1]))

    def flat(self, xy: NDArray[np.float64]) -> NDArray[np.int64]:
        """Pixel index of each point, or -1 outside the raster."""
        ij = np.floor((xy - np.asarray(self.origin)) / self.pixel_m).astype(np.int64)
        inside = (ij[:, 0] >= 0) & (ij[:, 0] < self.shape[0]) & (ij[:, 1] >= 0) & (ij[:, 1] < self.shape[1])
        return np.where(inside, ij[:, 0] * self.shape[1] + ij[:, 1], -1)

    def density(
        self, flat: NDArray[np.int64], weights: NDArray[np.float64], bandwidth_m: float
    ) -> NDArray[np.float64]:
        """Gaussian kernel density per m², as a flat array over the pixels."""
        counts = np.bincount(flat, weights=weights, minlength=self.shape[0] * self.shape[1])
        smooth = gaussian_filter(
            counts.reshape(self.shape), bandwidth_m / self.pixel_m, mode="constant", truncate=3.0
        )
        return np.asarray(smooth, dtype=np.float64).reshape(-1) / self.pixel_m**2


@dataclass(frozen=True, slots=True)
class SeppFit:
    """Fitted parameters and the background density (events per m² per day) on a raster."""

    theta: float
    omega: float
    sigma_m: float
    raster: Raster
    background: NDArray[np.float64]
    iterations: int
    pairs: int

    def background_at(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        flat = self.raster.flat(xy)
        return np.where(flat >= 0, self.background[flat.clip(0)], 0.0)


def candidate_pairs(
    t_days: NDArray[np.float64], xy: NDArray[np.float64], max_days: float, max_m: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """(child, parent, Δt days, squared distance m²) for every pair within both cut-offs with
    the parent strictly earlier."""
    scale = max_m / max_days
    points = np.column_stack([xy, t_days * scale])
    pairs = cKDTree(points).query_pairs(max_m, p=np.inf, output_type="ndarray")
    if len(pairs) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0)
    a, b = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    later = t_days[a] > t_days[b]
    child, parent = np.where(later, a, b), np.where(later, b, a)
    dt = t_days[child] - t_days[parent]
    d2 = np.sum((xy[child] - xy[parent]) ** 2, axis=1)
    keep = (dt > 0) & (d2 <= max_m**2)
    return child[keep], parent[keep], dt[keep], d2[keep]


def fit(
    t_days: NDArray[np.float64],
    xy: NDArray[np.float64],
    span_days: float,
    *,
    max_days: float = 30.0,
    max_m: float = 300.0,
    background_bandwidth_m: float = 100.0,
    min_sigma_m: float = 20.0,
    max_omega: float = 2.0,
    iterations: int = 60,
    tolerance: float = 1e-3,
) -> SeppFit:
    """Maximum-likelihood parameters by EM, ignoring edge effects at the window's ends."""
    n = len(t_days)
    h = background_bandwidth_m
    raster = Raster.covering(xy, h)
    pixel = raster.flat(xy)
    child, _parent, dt, d2 = candidate_pairs(t_days, xy, max_days, max_m)
    theta, omega, sigma = 0.1, 0.5, max(50.0, min_sigma_m)
    is_background = np.full(n, 1 - theta)
    span = max(span_days, 1.0)
    done = 0
    for step in range(1, iterations + 1):
        done = step
        mu = raster.density(pixel, is_background, h)[pixel] / span
        g = dt * -omega
        g -= d2 * (0.5 / sigma**2)
        np.exp(g, out=g)
        g *= theta * omega / (2 * np.pi * sigma**2)
        lam = mu + np.bincount(child, weights=g, minlength=n)
        p = g / lam[child]
        is_background = mu / lam
        triggered = float(p.sum())
        p_dt, p_d2 = float(np.dot(p, dt)), float(np.dot(p, d2))
        if triggered <= 1e-9:
            new = (0.0, omega, sigma)
        else:
            new = (
                triggered / n,
                min(triggered / p_dt, max_omega),
                max(math.sqrt(p_d2 / (2 * triggered)), min_sigma_m),
            )
        change = max(abs(a - b) / max(abs(b), 1e-9) for a, b in zip(new, (theta, omega, sigma), strict=True))
        theta, omega, sigma = new
        if change < tolerance:
            break
    background = raster.density(pixel, is_background, h) / span
    return SeppFit(theta, omega, sigma, raster, background, done, len(child))


@dataclass(frozen=True, slots=True)
class SelfExciting:
    max_days: float = 30.0
    max_m: float = 300.0
    background_bandwidth_m: float = 100.0
    min_sigma_m: float = 20.0
    count_share: float = 0.0
    name: str = "sepp"

    def fit(self, history: History, start: int) -> SeppFit:
        past = history.before(start)
        t0 = int(past.times.min()) if len(past.times) else start
        return fit(
            (past.times - t0) / DAY,
            past.xy,
            (start - t0) / DAY,
            max_days=self.max_days,
            max_m=self.max_m,
            background_bandwidth_m=self.background_bandwidth_m,
            min_sigma_m=self.min_sigma_m,
        )

    def background(self, model: SeppFit, past: History, study: Study, start: int) -> NDArray[np.float64]:
        """Background rate per m² per day at each cell. With `count_share` s > 0 it is
        (1 - s) x the fitted kernel background + s x the cell's own long-term rate (its count
        over the training period / days / cell area): the kernel spreads a busy block's risk
        over its neighbours, while crime data is sharply place-bound, so part of the surface
        is kept at cell resolution."""
        smooth = model.background_at(study.xy)
        if self.count_share <= 0:
            return smooth
        span = max((start - float(past.times.min())) / DAY, 1.0)
        area = study.spacing_m**2 * math.sqrt(3.0) / 2.0
        counts = np.bincount(past.cell[past.cell >= 0], minlength=len(study.cells)).astype(np.float64)
        return (1.0 - self.count_share) * smooth + self.count_share * counts / span / area

    def predict(self, history: History, study: Study, start: int, horizon: int) -> NDArray[np.float64]:
        """Expected incidents per m² in each cell over the window: the background plus the
        direct offspring of past incidents (offspring of offspring are ignored)."""
        past = history.before(start)
        if len(past.times) == 0:
            return np.zeros(len(study.cells))
        return self.forecast(self.fit(past, start), past, study, start, horizon)

    def forecast(
        self, model: SeppFit, past: History, study: Study, start: int, horizon: int
    ) -> NDArray[np.float64]:
        """The forecast from an already fitted model (fits can then be shared between
        settings that differ only in how the forecast is formed, such as `count_share`)."""
        days = horizon / DAY
        out = self.background(model, past, study, start) * days
        if model.theta > 0:
            age = (start - past.times) / DAY
            keep = age <= min(max(5.0 / model.omega, 1.0), self.max_days * 3)
            a = age[keep]
            weight = model.theta * (np.exp(-model.omega * a) - np.exp(-model.omega * (a + days)))
            out += gaussian_density(past.xy[keep], study.xy, model.sigma_m, weight)
        return out
