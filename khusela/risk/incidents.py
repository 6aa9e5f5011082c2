"""Incident import from CSV or GeoJSON into flat numpy arrays.

Analysts bring exports from many systems, so the column names are a mapping given on the
command line (`time=Date,lat=Latitude`), projected coordinates are accepted with an EPSG
code, and split date columns (YEAR, MONTH, …) are joined. A bad row never stops an
import: it is reported with its line number and every good row is kept.

Inside, incidents are parallel arrays (int64 seconds, float64 degrees, int32 category
codes) so 200,000 of them cost a few megabytes and every later step is vectorised. Times
are wall-clock times read as if they were UTC: only differences between them matter here.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from khusela.core.errors import InvalidInput

FIELDS = ("time", "lat", "lon", "x", "y", "category", "year", "month", "day", "hour", "minute")
DEFAULT_COLUMNS: Mapping[str, str] = {"time": "time", "lat": "lat", "lon": "lon", "category": "category"}
TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%Y/%m/%d %H:%M",
)
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Incidents:
    """Parallel arrays, one entry per incident; `codes` index into `categories`."""

    times: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    codes: NDArray[np.int32]
    categories: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.times.size)

    def select(self, mask: NDArray[np.bool_] | NDArray[np.intp]) -> Incidents:
        return Incidents(self.times[mask], self.lat[mask], self.lon[mask], self.codes[mask], self.categories)

    def of_categories(self, names: Sequence[str]) -> Incidents:
        """Only the named categories; an unknown name is an error, not an empty result."""
        unknown = [n for n in names if n not in self.categories]
        if unknown:
            known = ", ".join(self.categories)
            raise InvalidInput(f"unknown category {unknown[0]!r}; the data has: {known}")
        wanted = [self.categories.index(n) for n in names]
        return self.select(np.isin(self.codes, wanted))

    def sorted_by_time(self) -> Incidents:
        return self.select(np.argsort(self.times, kind="stable"))


@dataclass(slots=True)
class ImportReport:
    """What an import kept and what it refused, with the file line of each refusal."""

    kept: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    def summary(self, show: int = 5) -> list[str]:
        """One line per reason: how many rows, and the first line numbers."""
        by_reason: dict[str, list[int]] = {}
        for line, reason in self.problems:
            by_reason.setdefault(reason, []).append(line)
        out = []
        for reason, lines in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
            first = ", ".join(str(n) for n in lines[:show]) + (", …" if len(lines) > show else "")
            out.append(f"{len(lines):,} rows skipped ({reason}): lines {first}")
        return out


def parse_columns(spec: str | None) -> dict[str, str]:
    """`time=Date,lat=Latitude` → the default mapping updated with these names."""
    mapping = dict(DEFAULT_COLUMNS)
    if not spec:
        return mapping
    for part in spec.split(","):
        key, sep, column = part.partition("=")
        key = key.strip()
        if not sep or not column.strip():
            raise InvalidInput(f"--columns wants field=Column pairs, got {part!r}")
        if key not in FIELDS:
            raise InvalidInput(f"--columns: unknown field {key!r}; use {', '.join(FIELDS)}")
        mapping[key] = column.strip()
    if "x" in mapping or "y" in mapping:
        mapping.pop("lat", None), mapping.pop("lon", None)
    if "year" in mapping:
        mapping.pop("time", None)
    return mapping


def parse_time(text: str) -> int:
    """Seconds since 1970 for ISO 8601 or a few common spreadsheet formats."""
    moment = _datetime(text.strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def _datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"unreadable time {text!r}")


class _Columns:
    """Turns one row (a mapping of column name → text) into (time, a, b, category)."""

    def __init__(self, mapping: Mapping[str, str], header: Sequence[str] | None) -> None:
        self.mapping = mapping
        self.projected = "x" in mapping
        self.split_time = "year" in mapping
        if self.projected and "y" not in mapping:
            raise InvalidInput("--columns: x needs y as well")
        needed = [f for f in ("time", "lat", "lon", "x", "y", "year", "month", "day") if f in mapping]
        if header is not None:
            missing = [mapping[f] for f in needed if mapping[f] not in header]
            if missing:
                raise InvalidInput(
                    f"column {missing[0]!r} is not in the file (it has: {', '.join(header)}); "
                    "map names with --columns, e.g. time=Date,lat=Latitude"
                )

    def row(self, get: Callable[[str], Any]) -> tuple[int, float, float, str]:
        m = self.mapping
        if self.split_time:
            hour, minute = (int(float(get(m[f]) or 0)) if f in m else 0 for f in ("hour", "minute"))
            moment = datetime(int(get(m["year"])), int(get(m["month"])), int(get(m["day"])), hour, minute)
            when = int((moment - datetime(1970, 1, 1)).total_seconds())
        else:
            when = parse_time(str(get(m["time"])))
        a, b = (m["x"], m["y"]) if self.projected else (m["lat"], m["lon"])
        raw_a, raw_b = get(a), get(b)
        if raw_a in (None, "") or raw_b in (None, ""):
            raise LookupError("no location")
        first, second = float(raw_a), float(raw_b)
        if not (np.isfinite(first) and np.isfinite(second)) or (first == 0.0 and second == 0.0):
            raise LookupError("no location")
        if not self.projected and not (-90 <= first <= 90 and -180 <= second <= 180):
            raise ValueError(f"latitude/longitude out of range ({first}, {second})")
        category = str(get(m["category"])).strip() if "category" in m and get(m["category"]) else ""
        return when, first, second, category or "unknown"


class _Builder:
    def __init__(self) -> None:
        self.times: list[int] = []
        self.a: list[float] = []
        self.b: list[float] = []
        self.codes: list[int] = []
        self.categories: dict[str, int] = {}

    def add(self, values: tuple[int, float, float, str]) -> None:
        when, a, b, category = values
        self.times.append(when)
        self.a.append(a)
        self.b.append(b)
        self.codes.append(self.categories.setdefault(category, len(self.categories)))


def _to_incidents(built: _Builder, crs: str | None) -> Incidents:
    a = np.asarray(built.a, dtype=np.float64)
    b = np.asarray(built.b, dtype=np.float64)
    if crs:
        from pyproj import Transformer
        from pyproj.exceptions import CRSError

        try:
            transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        except CRSError as exc:
            raise InvalidInput(f"unknown coordinate system {crs!r}: {exc}") from exc
        lon, lat = transformer.transform(a, b)
        a, b = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    return Incidents(
        times=np.asarray(built.times, dtype=np.int64),
        lat=a,
        lon=b,
        codes=np.asarray(built.codes, dtype=np.int32),
        categories=tuple(built.categories),
    )


def read_incidents(
    path: Path,
    columns: Mapping[str, str] | None = None,
    crs: str | None = None,
    show_progress: bool | None = None,
) -> tuple[Incidents, ImportReport]:
    """Read a CSV or GeoJSON file. Projected x/y need `crs` (e.g. "EPSG:26910"); lat/lon must
    not have one. Rows without a location, or with unreadable fields, are reported, not fatal."""
    mapping = dict(columns or DEFAULT_COLUMNS)
    if ("x" in mapping) != bool(crs):
        raise InvalidInput("projected columns x/y need --crs (e.g. EPSG:26910), and --crs needs x/y columns")
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    show = sys.stderr.isatty() if show_progress is None else show_progress
    if path.suffix.lower() in (".geojson", ".json"):
        built, report = _read_geojson(path, mapping)
    else:
        built, report = _read_csv(path, mapping, show)
    return _to_incidents(built, crs), report


def _read_csv(path: Path, mapping: Mapping[str, str], show: bool) -> tuple[_Builder, ImportReport]:
    built, report = _Builder(), ImportReport()
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(_progress_lines(handle, path, show))
            header = next(reader, None)
            if header is None:
                raise InvalidInput(f"{path} is empty")
            cols = _Columns(mapping, header)
            index = {name: i for i, name in enumerate(header)}
            for row in reader:
                if not row:
                    continue
                try:
                    built.add(cols.row(_getter(row, index)))
                except LookupError as exc:
                    reason = str(exc).strip("'") if str(exc) == "no location" else "missing field"
                    report.problems.append((reader.line_num, reason))
                except (ValueError, TypeError, IndexError, OverflowError) as exc:
                    report.problems.append((reader.line_num, str(exc).split(":")[0] or "unreadable"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text: {exc.reason}") from exc
    report.kept = len(built.times)
    return built, report


def _getter(row: list[str], index: dict[str, int]) -> Callable[[str], str | None]:
    return lambda name: row[index[name]] if name in index else None


def _progress_lines(handle: IO[str], path: Path, show: bool) -> Iterator[str]:
    """Yield the file's lines, advancing a rich progress bar on a terminal."""
    if not show:
        yield from handle
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"reading {path.name}", total=path.stat().st_size)
        done = 0
        for line in handle:
            done += len(line)
            if done % 65536 < len(line):
                bar.update(task, completed=done)
            yield line


def _read_geojson(path: Path, mapping: Mapping[str, str]) -> tuple[_Builder, ImportReport]:
    """Point features; time and category come from properties, the location from the geometry
    (or from the mapped properties for projected x/y). "Line" numbers are feature numbers."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        features = document["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} is not a GeoJSON FeatureCollection") from exc
    built, report = _Builder(), ImportReport()
    by_geometry = {k: v for k, v in mapping.items() if k not in ("lat", "lon")}
    cols = _Columns({**by_geometry, "lat": "__lat", "lon": "__lon"} if "x" not in mapping else mapping, None)
    for number, feature in enumerate(features, start=1):
        try:
            props = dict(feature.get("properties") or {})
            geometry = feature.get("geometry") or {}
            if geometry.get("type") == "Point":
                props["__lon"], props["__lat"] = geometry["coordinates"][:2]
            built.add(cols.row(props.get))
        except LookupError as exc:
            report.problems.append((number, "no location" if str(exc) == "no location" else "missing field"))
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            report.problems.append((number, str(exc).split(":")[0] or "unreadable"))
    report.kept = len(built.times)
    return built, report


def read_many(
    paths: Sequence[Path], columns: Mapping[str, str] | None = None, crs: str | None = None
) -> tuple[Incidents, ImportReport]:
    """Several files with the same columns (e.g. one per year) as one time-sorted set."""
    parts = [read_incidents(p, columns, crs) for p in paths]
    report = ImportReport(kept=sum(r.kept for _, r in parts))
    names: list[str] = []
    for path, (inc, r) in zip(paths, parts, strict=True):
        report.problems.extend((line, f"{path.name}: {reason}") for line, reason in r.problems)
        names.extend(c for c in inc.categories if c not in names)
    remapped = []
    for inc, _ in parts:
        lookup = np.asarray([names.index(c) for c in inc.categories] or [0], dtype=np.int32)
        remapped.append(lookup[inc.codes] if len(inc) else inc.codes)
    joined = Incidents(
        times=np.concatenate([p.times for p, _ in parts]),
        lat=np.concatenate([p.lat for p, _ in parts]),
        lon=np.concatenate([p.lon for p, _ in parts]),
        codes=np.concatenate(remapped).astype(np.int32),
        categories=tuple(names),
    )
    return joined.sorted_by_time(), report


VANCOUVER_COLUMNS = parse_columns(
    "x=X,y=Y,year=YEAR,month=MONTH,day=DAY,hour=HOUR,minute=MINUTE,category=TYPE"
)
VANCOUVER_CRS = "EPSG:26910"
