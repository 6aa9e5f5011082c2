"""Incident import: column mapping, bad rows with line numbers, projected coordinates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from khusela.core.errors import InvalidInput
from khusela.risk.incidents import VANCOUVER_COLUMNS, VANCOUVER_CRS, parse_columns, read_incidents

VANCOUVER_2020 = Path("/work/shared/data/crime/vancouver_vpd/crimedata_csv_AllNeighbourhoods_2020.csv")


def test_mapped_columns_and_bad_rows_are_reported_by_line(tmp_path: Path) -> None:
    path = tmp_path / "inc.csv"
    path.write_text(
        "Date,Latitude,Longitude,Kind\n"
        "2024-01-02T10:00:00,-26.2,28.04,burglary\n"
        "not a date,-26.2,28.04,burglary\n"
        "2024-01-03 11:30,,28.04,theft\n"
        "01/04/2024 01:44:00 PM,-26.1,28.05,theft\n"
        "2024-01-05T00:00:00,-126.1,28.05,theft\n"
    )
    incidents, report = read_incidents(
        path, parse_columns("time=Date,lat=Latitude,lon=Longitude,category=Kind")
    )
    assert len(incidents) == 2
    assert incidents.categories == ("burglary", "theft")
    assert [line for line, _ in report.problems] == [3, 4, 6]
    assert incidents.times.dtype == np.int64
    assert incidents.lat.dtype == np.float64
    assert incidents.times[1] - incidents.times[0] == 2 * 86_400 + 3 * 3600 + 44 * 60


def test_missing_column_names_the_columns_the_file_has(tmp_path: Path) -> None:
    path = tmp_path / "inc.csv"
    path.write_text("Date,Latitude,Longitude\n2024-01-02,1,2\n")
    with pytest.raises(InvalidInput, match="Latitude"):
        read_incidents(path)


def test_projected_split_time_columns_read_vancouver_and_skip_unlocated_rows() -> None:
    incidents, report = read_incidents(VANCOUVER_2020, VANCOUVER_COLUMNS, VANCOUVER_CRS, show_progress=False)
    assert len(incidents) + len(report.problems) == 37_511
    assert sum(reason == "no location" for _, reason in report.problems) > 3_000
    assert incidents.lat.min() > 49.19
    assert incidents.lat.max() < 49.32
    assert incidents.lon.min() > -123.23
    assert incidents.lon.max() < -123.02
    assert np.datetime64(int(incidents.times.min()), "s") >= np.datetime64("2020-01-01")


def test_column_spec_is_checked() -> None:
    with pytest.raises(InvalidInput, match="unknown field"):
        parse_columns("when=Date")
    with pytest.raises(InvalidInput, match="field=Column"):
        parse_columns("time")


def test_geojson_points_read_with_properties_and_bad_features_numbered(tmp_path: Path) -> None:
    path = tmp_path / "inc.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [28.04, -26.2]},
            "properties": {"when": "2024-01-02T10:00:00", "kind": "robbery"},
        },
        {
            "type": "Feature",
            "geometry": None,
            "properties": {"when": "2024-01-02T11:00:00", "kind": "robbery"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [28.05, -26.1]},
            "properties": {"when": "yesterday", "kind": "robbery"},
        },
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    incidents, report = read_incidents(path, parse_columns("time=when,category=kind"))
    assert len(incidents) == 1
    assert incidents.lat[0] == -26.2
    assert incidents.categories == ("robbery",)
    assert [n for n, _ in report.problems] == [2, 3]
