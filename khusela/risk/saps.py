"""SAPS precinct trends: which police precincts show a real rise in a crime category?

Input is the SAPS per-station release (one row per station and category, one column per
financial year) and Census 2022 police-district populations. Each series gets a log-linear
Poisson trend (annual % change) whose standard error is widened by the over-dispersion seen
in that series (quasi-Poisson), so a noisy station is not flagged for one bad year; the
one-sided p-values for "rising" are then corrected over every series tested
(Benjamini-Hochberg), since hundreds of stations x categories would otherwise flag many by
chance.

Rates per 100,000 use the 2022 population as the denominator for every year: the only
population per district available here. The trend test is on counts, so it does not depend
on that choice; the rate is for comparing precincts of different size.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from khusela.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class StationFigures:
    """One station's yearly counts for one category."""

    station: str
    province: str
    crime: str
    years: tuple[int, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Trend:
    station: str
    province: str
    crime: str
    first_year: int
    last_year: int
    last_count: int
    population: int | None
    rate_per_100k: float | None
    annual_change_pct: float
    dispersion: float
    p_rising: float
    q_rising: float
    rising: bool


@dataclass(frozen=True, slots=True)
class TrendReport:
    trends: list[Trend]
    stations: int
    joined: int
    unjoined: list[str]
    alpha: float

    def summary(self, top: int = 25) -> dict[str, Any]:
        rising = sorted((t for t in self.trends if t.rising), key=lambda t: t.q_rising)
        return {
            "series_tested": len(self.trends),
            "stations": self.stations,
            "stations_joined_to_population": self.joined,
            "stations_not_joined": self.unjoined[:50],
            "alpha_fdr": self.alpha,
            "rising": len(rising),
            "top_rising": [asdict(t) for t in rising[:top]],
        }


def normalise(name: str) -> str:
    """Station names differ in case, punctuation and spacing between releases."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def read_station_figures(path: Path) -> list[StationFigures]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            years = [int(h) for h in header[3:]]
            out = []
            for row in reader:
                counts = tuple(int(float(v or 0)) for v in row[3:])
                out.append(
                    StationFigures(row[0].strip(), row[1].strip(), row[2].strip(), tuple(years), counts)
                )
    except (OSError, StopIteration, ValueError, IndexError) as exc:
        raise InvalidInput(f"{path}: not a station,province,crime,<years>… file ({exc})") from exc
    return out


def read_populations(path: Path) -> dict[tuple[str, str], int]:
    """(province code, normalised district name) → Census 2022 population."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return {
                (row["prov_code"].strip(), normalise(row["name"])): int(float(row["population"]))
                for row in csv.DictReader(handle)
            }
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a code,name,…,prov_code,population file ({exc})") from exc


def poisson_trend(years: NDArray[np.float64], counts: NDArray[np.float64]) -> tuple[float, float, float]:
    """(slope per year of log count, its quasi-Poisson standard error, dispersion), by Newton steps."""
    x = years - years.mean()
    b0, b1 = math.log(max(counts.mean(), 0.5)), 0.0
    for _ in range(25):
        mu = np.exp(b0 + b1 * x)
        grad = np.array([np.sum(counts - mu), np.sum((counts - mu) * x)])
        info = np.array([[mu.sum(), (mu * x).sum()], [(mu * x).sum(), (mu * x * x).sum()]])
        step = np.linalg.solve(info, grad)
        b0, b1 = b0 + step[0], b1 + step[1]
        if np.abs(step).max() < 1e-9:
            break
    mu = np.exp(b0 + b1 * x)
    info = np.array([[mu.sum(), (mu * x).sum()], [(mu * x).sum(), (mu * x * x).sum()]])
    dispersion = max(float(np.sum((counts - mu) ** 2 / mu) / max(len(counts) - 2, 1)), 1.0)
    se = float(math.sqrt(np.linalg.inv(info)[1, 1] * dispersion))
    return float(b1), se, dispersion


def trends(
    figures: Sequence[StationFigures],
    populations: dict[tuple[str, str], int],
    *,
    province: str | None = None,
    categories: Sequence[str] | None = None,
    alpha: float = 0.05,
    min_total: int = 10,
) -> TrendReport:
    """Trend per station and category; series with fewer than `min_total` incidents in all years
    are skipped (no trend can be told from a handful)."""
    chosen = [
        f
        for f in figures
        if (province is None or f.province == province) and (not categories or f.crime in categories)
    ]
    if not chosen:
        raise InvalidInput("no station figures match the province/category filter")
    stations = {(f.province, f.station) for f in chosen}
    joined = {s for s in stations if (s[0], normalise(s[1])) in populations}
    rows: list[tuple[StationFigures, float, float, float, float]] = []
    for f in chosen:
        counts = np.asarray(f.counts, dtype=np.float64)
        if counts.sum() < min_total:
            continue
        slope, se, dispersion = poisson_trend(np.asarray(f.years, dtype=np.float64), counts)
        p = float(stats.norm.sf(slope / se)) if se > 0 else 1.0
        rows.append((f, slope, se, dispersion, p))
    q = stats.false_discovery_control([r[4] for r in rows], method="bh") if rows else np.zeros(0)
    out = []
    for (f, slope, _se, dispersion, p), qi in zip(rows, q, strict=True):
        population = populations.get((f.province, normalise(f.station)))
        rate = f.counts[-1] / population * 100_000 if population else None
        out.append(
            Trend(
                f.station,
                f.province,
                f.crime,
                f.years[0],
                f.years[-1],
                f.counts[-1],
                population,
                round(rate, 1) if rate is not None else None,
                round((math.exp(slope) - 1) * 100, 2),
                round(dispersion, 2),
                p,
                float(qi),
                bool(qi < alpha and slope > 0),
            )
        )
    unjoined = sorted(f"{s[1]} ({s[0]})" for s in stations - joined)
    return TrendReport(out, len(stations), len(joined), unjoined, alpha)


def write_csv(report: TrendReport, path: Path) -> None:
    fields = list(Trend.__dataclass_fields__)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for t in report.trends:
            writer.writerow(asdict(t))
