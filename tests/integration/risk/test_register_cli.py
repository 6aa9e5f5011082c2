"""`khusela risk import` and `khusela risk localities import` against a real database: incidents
from the Chicago sample stored with their cells, a ward boundary filled with H3 cells, and
a one-line refusal for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from khusela.demo.geodata import gauteng
from khusela.risk import localities
from khusela.risk.cli import app
from khusela.risk.tables import risk_incidents, risk_localities, risk_locality_cells
from khusela.store.database import Database

CHICAGO = Path("/work/shared/data/crime/chicago_sample/example.csv")
CHICAGO_COLUMNS = "time=Date,lat=Latitude,lon=Longitude,category=Primary Type"


@pytest.fixture
def db_env(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("KHUSELA_DATABASE_URL", sqlite_db.url)
    return sqlite_db


def test_import_stores_incidents_and_refuses_bad_input(db_env: Database) -> None:
    done = CliRunner().invoke(app, ["import", "--incidents", str(CHICAGO), "--columns", CHICAGO_COLUMNS])
    assert done.exit_code == 0, done.stderr
    with db_env.read() as conn:
        stored = conn.execute(select(func.count()).select_from(risk_incidents)).scalar_one()
        sample = conn.execute(select(risk_incidents).limit(1)).one()._mapping
    assert 900 <= stored <= 1000
    assert f"{stored:,} incidents stored" in done.stderr
    assert h3.get_resolution(sample["cell"]) == 9
    assert sample["source"] == "import"
    bad = CliRunner().invoke(app, ["import", "--incidents", str(CHICAGO), "--columns", "when=Date"])
    assert bad.exit_code != 0
    assert "unknown field 'when'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_ward_boundary_is_filled_with_cells_and_placed_in_its_municipality(
    db_env: Database, tmp_path: Path
) -> None:
    with db_env.write() as conn:
        localities.load_bundled(conn, gauteng())
    hillbrow = [[28.040, -26.195], [28.055, -26.195], [28.055, -26.183], [28.040, -26.183], [28.040, -26.195]]
    wards = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"WardID": "79800063", "WardLabel": "Ward 63"},
                "geometry": {"type": "Polygon", "coordinates": [hillbrow]},
            }
        ],
    }
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(wards))
    args = ["localities", "import", str(path), "--level", "ward", "--code-field", "WardID", "--name-field"]
    done = CliRunner().invoke(app, [*args, "WardLabel", "--cell-res", "9"])
    assert done.exit_code == 0, done.stderr
    with db_env.read() as conn:
        ward = conn.execute(select(risk_localities).where(risk_localities.c.code == "ward:79800063")).one()
        cells = conn.execute(
            select(func.count()).where(risk_locality_cells.c.locality_code == "ward:79800063")
        ).scalar_one()
    assert ward.municipality == "JHB", "placed by overlap with Johannesburg's cells"
    assert ward.cell_res == 9
    assert 5 <= cells <= 30, "about 1.5 km x 1.3 km of res-9 cells (0.1 km² each)"
    missing = CliRunner().invoke(app, [*args, "NoSuchField"])
    assert missing.exit_code != 0
    assert "feature 1 lacks" in missing.stderr
