"""`khusela risk …`: backtest forecasters, write the current forecast, find hotspots and
precinct trends. Results are JSON on stdout; import problems and progress go to stderr."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from khusela.cli_support import friendly

app = typer.Typer(help="Hotspots, crime forecasts and their backtests.", no_args_is_help=True)

IncidentsOpt = Annotated[
    list[Path], typer.Option("--incidents", help="Incident CSV or GeoJSON (repeat for several files).")
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        help="Column names as field=Column pairs: time, lat, lon, category, or x, y (with --crs) and "
        "year, month, day, hour, minute; e.g. time=Date,lat=Latitude,lon=Longitude,category='Primary Type'."
    ),
]
CrsOpt = Annotated[str | None, typer.Option(help="EPSG code of projected x/y columns, e.g. EPSG:26910.")]
CategoryOpt = Annotated[list[str] | None, typer.Option("--category", help="Only this category (repeatable).")]
ResOpt = Annotated[int, typer.Option("--cell-res", min=0, max=15, help="H3 resolution of the cells scored.")]


def _load(paths: list[Path], columns: str | None, crs: str | None, category: list[str] | None) -> Any:
    from khusela.risk.incidents import parse_columns, read_many

    incidents, report = read_many(paths, parse_columns(columns), crs)
    for line in report.summary():
        print(line, file=sys.stderr)
    print(f"{report.kept:,} incidents read", file=sys.stderr)
    if category:
        incidents = incidents.of_categories(category)
    if len(incidents) == 0:
        raise ValueError("no usable incidents in the input")
    return incidents


def _dump(document: Any) -> None:
    print(json.dumps(_plain(document), indent=2, allow_nan=False))


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@app.command("evaluate")
@friendly
def evaluate_command(
    incidents: IncidentsOpt,
    method: Annotated[
        str,
        typer.Option(
            help="naive, naive_ranked, kde, prospective, sepp, blend, ensemble, weighted_ensemble, "
            "a list, or all."
        ),
    ] = "all",
    cell_res: ResOpt = 10,
    train_days: Annotated[float, typer.Option(help="Days of data each forecast is fitted on.")] = 365,
    test_days: Annotated[float, typer.Option(help="Length of each test window in days.")] = 7,
    columns: ColumnsOpt = None,
    crs: CrsOpt = None,
    category: CategoryOpt = None,
    plots: Annotated[Path | None, typer.Option(help="Folder for PAI-curve and hotspot-map PNGs.")] = None,
) -> None:
    """Rolling-origin backtest: hit rate and PAI at 1%, 5% and 10% of the area, per window and pooled."""
    from khusela.risk.evaluate import Prepared, backtest
    from khusela.risk.forecast import make_many

    data = _load(incidents, columns, crs, category)
    methods = make_many(method)
    prepared = Prepared.of(data, cell_res)
    result = backtest(prepared, methods, train_days, test_days)
    _dump(result.as_dict())
    if plots:
        from khusela.risk import plots as figures

        figures.pai_curves(result, plots / "pai.png")
        last = int(prepared.times[-1]) + 1
        study = prepared.study(last)
        history = prepared.history(study, last - int(train_days * 86_400), last)
        for m in methods:
            scores = m.predict(history, study, last, int(test_days * 86_400))
            figures.hotspot_map(
                study.xy, scores, plots / f"map-{m.name}.png", f"{m.name}: next {test_days:g} days"
            )
        print(f"plots written to {plots}", file=sys.stderr)


@app.command("forecast")
@friendly
def forecast_command(
    incidents: IncidentsOpt,
    method: Annotated[
        str,
        typer.Option(
            help="naive, naive_ranked, kde, prospective, sepp, blend, ensemble or weighted_ensemble."
        ),
    ] = "sepp",
    cell_res: ResOpt = 10,
    train_days: Annotated[float, typer.Option(help="Days of data the forecast is fitted on.")] = 365,
    horizon_days: Annotated[float, typer.Option(help="Days ahead the forecast covers.")] = 7,
    columns: ColumnsOpt = None,
    crs: CrsOpt = None,
    category: CategoryOpt = None,
    out: Annotated[Path | None, typer.Option(help="GeoJSON file to write (default: stdout).")] = None,
) -> None:
    """The forecast for the window after the last incident, as GeoJSON cells with score and rank."""
    import numpy as np

    from khusela.risk import grid
    from khusela.risk.evaluate import Prepared
    from khusela.risk.forecast import make

    forecaster = make(method)
    prepared = Prepared.of(_load(incidents, columns, crs, category), cell_res)
    start = int(prepared.times[-1]) + 1
    study = prepared.study(start)
    history = prepared.history(study, start - int(train_days * 86_400), start)
    scores = forecaster.predict(history, study, start, int(horizon_days * 86_400))
    order = np.lexsort((study.cells, -scores))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    document = grid.feature_collection(
        study.cells[order], {"score": scores[order], "rank": rank[order]}, cell_res
    )
    document["properties"] = {
        "method": method,
        "horizon_days": horizon_days,
        "from": str(np.datetime64(start, "s")),
    }
    text = json.dumps(_plain(document))
    if out:
        out.write_text(text)
        print(f"{len(order):,} cells written to {out}", file=sys.stderr)
    else:
        print(text)


@app.command("hotspots")
@friendly
def hotspots_command(
    incidents: IncidentsOpt,
    cell_res: ResOpt = 9,
    ring: Annotated[int, typer.Option(min=1, max=5, help="Gi* neighbourhood: grid_disk radius.")] = 1,
    alpha: Annotated[float, typer.Option(help="False-discovery rate for calling a hot spot.")] = 0.05,
    columns: ColumnsOpt = None,
    crs: CrsOpt = None,
    category: CategoryOpt = None,
) -> None:
    """Getis-Ord Gi* hot spots over H3 cells (Benjamini-Hochberg corrected), hottest first."""
    import numpy as np

    from khusela.risk import grid
    from khusela.risk.hotspots import getis_ord

    data = _load(incidents, columns, crs, category)
    gi = getis_ord(grid.cells_of(data.lat, data.lon, cell_res), ring, alpha)
    order = np.argsort(-gi.z)
    rows = [
        {
            "cell": grid.cell_name(int(gi.cells[i])),
            "count": int(gi.counts[i]),
            "z": float(gi.z[i]),
            "q": float(gi.q[i]),
        }
        for i in order
        if gi.hot[i]
    ]
    _dump({"cells_tested": len(gi.cells), "hot_spots": len(rows), "alpha": alpha, "hot": rows})


@app.command("trends")
@friendly
def trends_command(
    crime_csv: Annotated[
        Path, typer.Option("--crime", help="SAPS per-station figures (station,province,crime,years…).")
    ],
    population_csv: Annotated[Path, typer.Option("--population", help="Census police-district populations.")],
    province: Annotated[str | None, typer.Option(help="Only this province code, e.g. GP.")] = None,
    crime: Annotated[list[str] | None, typer.Option("--crime-category", help="Only this category.")] = None,
    alpha: Annotated[float, typer.Option(help="False-discovery rate for calling a rise.")] = 0.05,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write every trend as CSV.")] = None,
) -> None:
    """Each precinct's trend per category and rate per 100,000; flags significant rises."""
    from khusela.risk import saps

    figures = saps.read_station_figures(crime_csv)
    populations = saps.read_populations(population_csv)
    result = saps.trends(figures, populations, province=province, categories=crime, alpha=alpha)
    if csv_out:
        saps.write_csv(result, csv_out)
    _dump(result.summary())


@app.command("import")
@friendly
def import_command(
    incidents: IncidentsOpt,
    columns: ColumnsOpt = None,
    crs: CrsOpt = None,
    category: CategoryOpt = None,
) -> None:
    """Store incidents (time, place, category only) for the map's hotspot and forecast layers."""
    from khusela import cli_support
    from khusela.core.gazetteer import BundledGazetteer
    from khusela.risk.incident_log import store_many

    data = _load(incidents, columns, crs, category)
    db = cli_support.database(cli_support.settings())
    with db.write() as conn:
        stored = store_many(conn, data, BundledGazetteer())
    print(f"{stored:,} incidents stored", file=sys.stderr)


localities_app = typer.Typer(
    help="Locality boundaries (wards, precincts …) as H3 cells.", no_args_is_help=True
)
app.add_typer(localities_app, name="localities")


@localities_app.command("import")
@friendly
def localities_import_command(
    geojson: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of (Multi)Polygons.")],
    level: Annotated[str, typer.Option(help="province, district, municipality, ward or precinct.")],
    code_field: Annotated[str, typer.Option(help="Property holding each boundary's code.")],
    name_field: Annotated[str, typer.Option(help="Property holding each boundary's name.")],
    province: Annotated[str, typer.Option(help="Province code, e.g. GP.")] = "GP",
    parent: Annotated[str | None, typer.Option(help="Parent locality code (else found by overlap).")] = None,
    cell_res: Annotated[int, typer.Option("--cell-res", help="H3 resolution to fill with (8 or 9).")] = 9,
) -> None:
    """Fill each boundary with H3 cells and store it with its place in the hierarchy."""
    from khusela import cli_support
    from khusela.risk import localities

    boundaries = localities.read_boundaries(geojson, code_field, name_field, cell_res)
    db = cli_support.database(cli_support.settings())
    with db.write() as conn:
        n = localities.import_boundaries(conn, boundaries, level, province, parent)
    cells = sum(len(b.cells) for b in boundaries)
    print(f"{n:,} {level} boundaries stored ({cells:,} cells at res {cell_res})", file=sys.stderr)
