"""`khusela partners …`: quarterly agreement reports and the oversight dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from khusela.cli_support import friendly, out

app = typer.Typer(help="Partnership agreements and their delivery.", no_args_is_help=True)


@app.command("report")
@friendly
def report_command(
    agreement_id: Annotated[str, typer.Argument(metavar="AGREEMENT", help="The agreement's id.")],
    quarter: Annotated[str, typer.Option("--quarter", help="Calendar quarter, e.g. 2026Q3.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the PDF and CSV.")] = Path("."),
) -> None:
    """Write the agreement's quarterly report as PDF and CSV (platform figures included)."""
    from khusela import cli_support
    from khusela.core.clock import SystemClock
    from khusela.partners import reports
    from khusela.partners.indicators import _READER
    from khusela.partners.model import Quarter

    period = Quarter.parse(quarter)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is not a directory")
    db = cli_support.database(cli_support.settings())
    with db.read() as conn:
        report = reports.build(conn, _READER, agreement_id, period, SystemClock().now())
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"agreement-{agreement_id[:8]}-{period.label}"
    pdf, csv_path = stem.with_suffix(".pdf"), stem.with_suffix(".csv")
    pdf.write_bytes(reports.to_pdf(report))
    csv_path.write_text(reports.to_csv(report), encoding="utf-8")
    out.print(f"{len(report.rows)} commitments → {pdf} and {csv_path}", highlight=False)


@app.command("dashboard")
@friendly
def dashboard_command() -> None:
    """List overdue and at-risk commitments across every agreement."""
    from khusela import cli_support
    from khusela.core.clock import SystemClock
    from khusela.partners import agreements
    from khusela.partners.indicators import _READER

    db = cli_support.database(cli_support.settings())
    with db.read() as conn:
        rows = agreements.dashboard(conn, _READER, SystemClock().now())
    table = Table("health", "due", "agreement", "commitment", "responsible", "done %")
    for r in rows:
        table.add_row(
            r["health"],
            r["due_on"].isoformat(),
            r["agreement_title"],
            r["what"],
            r["responsible_agency"],
            str(r["percent"]),
        )
    out.print(table)
