"""Forecasters on real Vancouver incidents: each must beat random, and the backtest's
numbers must be consistent with their definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from khusela.risk.evaluate import Prepared, backtest
from khusela.risk.forecast import make_many
from khusela.risk.incidents import VANCOUVER_COLUMNS, VANCOUVER_CRS, read_many

DATA = Path("/work/shared/data/crime/vancouver_vpd")


@pytest.fixture(scope="module")
def theft_from_vehicle() -> Prepared:
    files = [DATA / f"crimedata_csv_AllNeighbourhoods_{y}.csv" for y in (2022, 2023)]
    incidents, _ = read_many(files, VANCOUVER_COLUMNS, VANCOUVER_CRS)
    return Prepared.of(incidents.of_categories(["Theft from Vehicle"]), 10)


@pytest.mark.slow
def test_every_forecaster_beats_random_and_numbers_are_consistent(theft_from_vehicle: Prepared) -> None:
    first = int(np.datetime64("2023-03-06", "s").astype(np.int64))
    result = backtest(theft_from_vehicle, make_many("all"), 365, 7, first=first, last=first + 4 * 7 * 86_400)
    doc = result.as_dict()
    assert len(doc["windows"]) == 4
    for name, figures in doc["methods"].items():
        pooled = figures["pooled"]
        assert pooled["5%"]["pai"] > 2.0, name  # random choice of cells gives PAI ≈ 1
        for level in ("1%", "5%", "10%"):
            f = pooled[level]
            assert 0.0 <= f["hit_rate"] <= 1.0
            assert f["pai"] == pytest.approx(f["hit_rate"] / f["area_share"])
        assert pooled["1%"]["hits"] <= pooled["5%"]["hits"] <= pooled["10%"]["hits"]
    for window in doc["windows"]:
        for per_method in window["methods"].values():
            for f in per_method.values():
                assert f["hits"] <= window["incidents"]


def test_forecasts_use_only_data_before_the_window(theft_from_vehicle: Prepared) -> None:
    """Adding the window's own incidents to the history must not change any forecast."""
    start = int(np.datetime64("2023-06-05", "s").astype(np.int64))
    study = theft_from_vehicle.study(start)
    clean = theft_from_vehicle.history(study, start - 365 * 86_400, start)
    leaky = theft_from_vehicle.history(study, start - 365 * 86_400, start + 7 * 86_400)
    for method in make_many("naive,naive_ranked,kde,prospective,sepp,blend,weighted_ensemble"):
        assert np.array_equal(
            method.predict(clean, study, start, 7 * 86_400), method.predict(leaky, study, start, 7 * 86_400)
        ), method.name
