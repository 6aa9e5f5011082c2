"""`khusela risk …` as an analyst runs it, on the real data files (in-process: starting the whole
`khusela` command per test would cost more than the work)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from khusela.risk.cli import app

CHICAGO = Path("/work/shared/data/crime/chicago_sample/example.csv")
SAPS = Path("/work/shared/data/crime/south_africa_saps")
CHICAGO_COLUMNS = "time=Date,lat=Latitude,lon=Longitude,category=Primary Type"


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str) -> Done:
    result = CliRunner().invoke(app, list(args))
    return Done(result.exit_code, result.stdout, result.stderr)


def test_evaluate_prints_json_and_reports_bad_rows_by_line(tmp_path: Path) -> None:
    lines = CHICAGO.read_text().splitlines()
    lines[10] = lines[10].replace("41.", "not-a-number", 1)  # file line 11
    data = tmp_path / "chicago.csv"
    data.write_text("\n".join(lines) + "\n")
    done = run(
        "evaluate",
        "--incidents",
        str(data),
        "--columns",
        CHICAGO_COLUMNS,
        "--method",
        "naive,kde",
        "--cell-res",
        "8",
        "--train-days",
        "60",
        "--test-days",
        "30",
        "--plots",
        str(tmp_path / "png"),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["methods"]) == {"naive", "kde"}
    assert result["methods"]["kde"]["pooled"]["5%"]["pai"] > 1.0
    assert "lines 11" in done.stderr
    assert (tmp_path / "png" / "pai.png").stat().st_size > 1000


def test_forecast_writes_geojson_cells_with_score_and_rank(tmp_path: Path) -> None:
    out = tmp_path / "forecast.geojson"
    done = run(
        "forecast",
        "--incidents",
        str(CHICAGO),
        "--columns",
        CHICAGO_COLUMNS,
        "--method",
        "kde",
        "--cell-res",
        "8",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    features = json.loads(out.read_text())["features"]
    assert features[0]["properties"]["rank"] == 1
    assert features[0]["properties"]["score"] >= features[-1]["properties"]["score"]
    assert features[0]["geometry"]["type"] == "Polygon"


def test_bad_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = run("evaluate", "--incidents", str(CHICAGO), "--method", "naive")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "column 'time'" in done.stderr
    done = run("evaluate", "--incidents", str(CHICAGO), "--columns", CHICAGO_COLUMNS, "--method", "oracle")
    assert done.returncode == 1
    assert "unknown method" in done.stderr


def test_trends_joins_stations_to_population_and_flags_rises() -> None:
    done = run(
        "trends",
        "--crime",
        str(SAPS / "saps_station_crime_2003_2013.csv"),
        "--population",
        str(SAPS / "police_stations_census2022.csv"),
        "--province",
        "GP",
        "--crime-category",
        "Burglary at residential premises",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["stations"] == 141
    assert result["stations_joined_to_population"] >= 130
    assert 0 < result["rising"] < result["series_tested"]
    top = result["top_rising"][0]
    assert top["annual_change_pct"] > 0
    assert top["q_rising"] < 0.05
