"""Bulk camera import and export as CSV: how a province loads thousands of cameras from a
partner's spreadsheet, and how it hands the list back.

One row per camera; `zones` and `masks` are JSON lists of {name, polygon}. Import is all
or nothing: every bad row is reported with its line number and nothing is written unless
every row is good. Rows with an `external_ref` already known update that camera.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from khusela.cctv.cameras import CameraSpec, redact, upsert_by_ref, zones_from
from khusela.core.errors import InvalidInput, KhuselaError
from khusela.core.gazetteer import Gazetteer
from khusela.identity.model import Principal

COLUMNS = (
    "external_ref",
    "name",
    "owner_agency_id",
    "lat",
    "lon",
    "bearing_deg",
    "fov_deg",
    "main_stream_url",
    "sub_stream_url",
    "detect_fps",
    "detect_width",
    "detect_height",
    "record",
    "retention_days",
    "zones",
    "masks",
)
REQUIRED = ("name", "owner_agency_id", "lat", "lon", "main_stream_url")
MAX_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int


class ImportErrors(InvalidInput):
    """Every bad row, each with its line number (the first is the header)."""

    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:20]) + (f"; and {len(problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"{len(problems)} bad row(s), nothing imported: {shown}")
        self.problems = problems


def _number(raw: str, column: str, kind: type[float] | type[int], default: float | int | None) -> Any:
    if raw.strip() == "":
        if default is None and column in REQUIRED:
            raise InvalidInput(f"{column} is required")
        return default
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput(f"{column}: {raw!r} is not a number") from None


def _json(raw: str, column: str) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(f"{column}: not valid JSON") from None


def spec_from_row(row: Mapping[str, str]) -> CameraSpec:
    missing = [c for c in REQUIRED if not (row.get(c) or "").strip()]
    if missing:
        raise InvalidInput(f"missing {', '.join(missing)}")
    record = (row.get("record") or "true").strip().lower()
    if record not in ("true", "false", "yes", "no", "1", "0"):
        raise InvalidInput("record: true or false")
    return CameraSpec(
        owner_agency_id=row["owner_agency_id"].strip(),
        name=row["name"].strip(),
        lat=_number(row["lat"], "lat", float, None),
        lon=_number(row["lon"], "lon", float, None),
        main_stream_url=row["main_stream_url"].strip(),
        external_ref=(row.get("external_ref") or "").strip() or None,
        sub_stream_url=(row.get("sub_stream_url") or "").strip() or None,
        bearing_deg=_number(row.get("bearing_deg") or "", "bearing_deg", float, None),
        fov_deg=_number(row.get("fov_deg") or "", "fov_deg", float, None),
        detect_fps=_number(row.get("detect_fps") or "", "detect_fps", float, 5.0),
        detect_width=_number(row.get("detect_width") or "", "detect_width", int, 640),
        detect_height=_number(row.get("detect_height") or "", "detect_height", int, 360),
        record=record in ("true", "yes", "1"),
        retention_days=_number(row.get("retention_days") or "", "retention_days", int, 30),
        zones=zones_from(_json(row.get("zones") or "", "zones"), "zone"),
        masks=zones_from(_json(row.get("masks") or "", "masks"), "mask"),
    )


def import_csv(
    conn: Connection, actor: Principal, text: str, gazetteer: Gazetteer, now: datetime
) -> ImportResult:
    """Import every row or none (the caller's transaction is rolled back on `ImportErrors`)."""
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - set(COLUMNS)
    if not reader.fieldnames or unknown:
        raise InvalidInput(
            f"the header must name columns from: {', '.join(COLUMNS)}"
            + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else "")
        )
    problems: list[str] = []
    created = updated = 0
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS:,} cameras per import")
        try:
            with conn.begin_nested():
                _, what = upsert_by_ref(conn, actor, spec_from_row(row), gazetteer, now)
        except KhuselaError as exc:
            problems.append(f"line {number}: {exc.detail}")
            continue
        created += what == "created"
        updated += what == "updated"
    if problems:
        raise ImportErrors(problems)
    return ImportResult(created, updated)


def export_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The cameras as CSV, stream passwords redacted (importing it back keeps them)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {
                **{c: r.get(c) for c in COLUMNS},
                "main_stream_url": redact(r["main_stream_url"]),
                "sub_stream_url": redact(r.get("sub_stream_url")),
                "record": "true" if r["record"] else "false",
                "zones": json.dumps(r["zones"]) if r["zones"] else "",
                "masks": json.dumps(r["masks"]) if r["masks"] else "",
            }
        )
    return out.getvalue()
