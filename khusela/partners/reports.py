"""The quarterly report of one agreement, as CSV (for spreadsheets) and PDF (for the meeting).

One row per commitment: area, what, responsible party, due date, status and health, the
indicator with its target, the platform's figure for the quarter where the platform has one
(`partners.indicators`), the party's own latest reported value and progress, and whether the
target is met (judged on the platform figure when there is one, else on the reported value).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fpdf import FPDF
from sqlalchemy import Connection, select

from khusela.identity.model import Principal
from khusela.partners import agreements
from khusela.partners.indicators import SOURCES, platform_figure
from khusela.partners.model import SAST, Direction, Quarter, meets
from khusela.partners.tables import partner_progress

NO_FIGURE = "no platform figure"


@dataclass(frozen=True, slots=True)
class ReportRow:
    area: str
    what: str
    responsible: str
    due_on: str
    status: str
    health: str
    indicator: str
    source: str
    target: float | None
    direction: str
    platform_value: float | None
    reported_value: float | None
    percent: int
    met: bool | None
    reports_in_quarter: int


@dataclass(frozen=True, slots=True)
class QuarterlyReport:
    agreement: dict[str, Any]
    quarter: Quarter
    generated_at: datetime
    rows: list[ReportRow]


def build(
    conn: Connection, viewer: Principal, agreement_id: str, quarter: Quarter, now: datetime
) -> QuarterlyReport:
    detail = agreements.detail(conn, viewer, agreement_id, now)
    rows: list[ReportRow] = []
    shared: dict[str, Any] = {}
    for area in detail["areas"]:
        for c in area["commitments"]:
            platform = platform_figure(conn, c, quarter, now, shared)
            reported = _reported_in(conn, c["id"], quarter)
            judged = platform if platform is not None else c["reported_value"]
            rows.append(
                ReportRow(
                    area=area["title"],
                    what=c["what"],
                    responsible=c["responsible_agency"],
                    due_on=c["due_on"].isoformat(),
                    status=c["status"],
                    health=c["health"],
                    indicator=c["indicator"],
                    source=SOURCES[c["source"]][0] if c["source"] in SOURCES else "reported by the party",
                    target=c["target"],
                    direction=c["direction"],
                    platform_value=platform,
                    reported_value=c["reported_value"],
                    percent=c["percent"],
                    met=meets(judged, c["target"], Direction(c["direction"])),
                    reports_in_quarter=reported,
                )
            )
    return QuarterlyReport(detail, quarter, now, rows)


def _reported_in(conn: Connection, commitment_id: str, quarter: Quarter) -> int:
    rows = conn.execute(
        select(partner_progress.c.id).where(
            partner_progress.c.commitment_id == commitment_id,
            partner_progress.c.at >= quarter.since,
            partner_progress.c.at < quarter.until,
        )
    )
    return len(rows.all())


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _met(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


HEADER = (
    "area",
    "commitment",
    "responsible",
    "due_on",
    "status",
    "health",
    "indicator",
    "figure_source",
    "target",
    "direction",
    "platform_value",
    "reported_value",
    "percent_done",
    "target_met",
    "progress_reports_in_quarter",
)


def _safe(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a cell never starts with = + - @."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(report: QuarterlyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for r in report.rows:
        writer.writerow(
            [
                _safe(r.area),
                _safe(r.what),
                _safe(r.responsible),
                r.due_on,
                r.status,
                r.health,
                _safe(r.indicator),
                r.source,
                _num(r.target),
                r.direction,
                _num(r.platform_value) if r.platform_value is not None else NO_FIGURE,
                _num(r.reported_value),
                r.percent,
                _met(r.met),
                r.reports_in_quarter,
            ]
        )
    return out.getvalue()


def _latin(text: str) -> str:
    """The PDF's core font covers Latin-1 only; replace the rest rather than fail."""
    return text.replace("\u2014", "-").replace("\u2013", "-").encode("latin-1", "replace").decode("latin-1")


def to_pdf(report: QuarterlyReport) -> bytes:
    a = report.agreement
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(_latin(f"{a['title']} - {report.quarter.label}"))
    pdf.set_author("Khusela")
    pdf.set_creation_date(report.generated_at)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, _latin(a["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    parties = ", ".join(p["name"] for p in a["parties"])
    signed = a["signed_on"].isoformat() if a["signed_on"] else "not signed"
    lines = [
        f"Quarterly report {report.quarter.label} ({report.quarter.first_day} to {report.quarter.last_day})",
        f"Type: {a['type']}   Status: {a['status']}   Signed: {signed}",
        f"Parties: {parties}",
        f"Generated {report.generated_at.astimezone(SAST):%Y-%m-%d %H:%M} SAST",
    ]
    for line in lines:
        pdf.multi_cell(0, 6, _latin(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    counts: dict[str, int] = {}
    for r in report.rows:
        counts[r.health] = counts.get(r.health, 0) + 1
    summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(counts.items())) or "no commitments"
    pdf.multi_cell(0, 6, _latin(f"Commitments - {summary}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 8)
    widths = (40, 62, 38, 20, 22, 50, 16, 18, 18)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4.5) as table:
        table.row(
            [
                "Area",
                "Commitment",
                "Responsible",
                "Due",
                "Health",
                "Indicator",
                "Target",
                "Platform",
                "Reported",
            ]
        )
        for r in report.rows:
            table.row(
                [
                    _latin(r.area),
                    _latin(r.what),
                    _latin(r.responsible),
                    r.due_on,
                    r.health.replace("_", " ") + (f" ({_met(r.met)})" if r.met is not None else ""),
                    _latin(f"{r.indicator} [{r.source}]"),
                    ("<= " if r.direction == Direction.AT_MOST.value else ">= ") + _num(r.target)
                    if r.target is not None
                    else "",
                    _num(r.platform_value) if r.platform_value is not None else NO_FIGURE,
                    _num(r.reported_value),
                ]
            )
    return bytes(pdf.output())
