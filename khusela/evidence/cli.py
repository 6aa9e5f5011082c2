"""`khusela evidence …`: open cases, add items, export signed packages and verify them.

The CLI is the local administrator's tool and acts as the platform itself (`system`), so it
reads every case; the API is where the access policy limits people to their agency's cases.
"""

from __future__ import annotations

import json
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from khusela import cli_support
from khusela.core.errors import InvalidInput, NotFound
from khusela.evidence import custody, keys, locker
from khusela.evidence.package import export_case, verify_package
from khusela.evidence.storage import local_store
from khusela.identity import directory
from khusela.identity.model import SYSTEM

app = typer.Typer(help="The evidence locker.", no_args_is_help=True)
out, err, friendly = cli_support.out, cli_support.err, cli_support.friendly


@app.command("create")
@friendly
def create(
    case_number: Annotated[str, typer.Argument(help="SAPS case number, e.g. 'CAS 123/11/2026'.")],
    title: Annotated[str, typer.Option(help="What the case is about (no personal data).")],
    agency: Annotated[str, typer.Option(help="Owning agency, name or id.")],
) -> None:
    """Open a case for an agency."""
    db = cli_support.database(cli_support.settings())
    with db.write() as conn:
        agency_id = directory.find_agency(conn, agency).id
        case = locker.create_case(conn, SYSTEM.username, case_number, title, agency_id)
    out.print(f"created case {case.case_number} id={case.id}", highlight=False)


@app.command("cases")
@friendly
def cases() -> None:
    """List cases, newest first."""
    db = cli_support.database(cli_support.settings())
    with db.read() as conn:
        rows = [(c, len(locker.items_of(conn, c.id))) for c in locker.all_cases(conn)]
    table = Table("case number", "title", "items", "legal hold", "custody entries", "id")
    for case, count in rows:
        hold = "yes" if case.legal_hold else ""
        table.add_row(case.case_number, case.title, str(count), hold, str(case.custody_seq), case.id)
    out.print(table)


@app.command("add")
@friendly
def add(
    case_ref: Annotated[str, typer.Argument(metavar="CASE", help="Case number or id.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The media file.")],
    kind: Annotated[locker.ItemKind, typer.Option(help="clip, snapshot or document.")] = locker.ItemKind.CLIP,
    media_type: Annotated[
        str | None, typer.Option(help="MIME type; guessed from the name if omitted.")
    ] = None,
    captured_at: Annotated[str | None, typer.Option(help="When it was captured, ISO 8601 with zone.")] = None,
    source: Annotated[
        str | None, typer.Option(help='Where it came from, JSON, e.g. {"camera_id": "c1"}.')
    ] = None,
) -> None:
    """Add a file to a case: stored write-once, recorded in custody and audit."""
    settings = cli_support.settings()
    db = cli_support.database(settings)
    meta = _source(source)
    when = _when(captured_at)
    guessed = media_type or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    with db.write() as conn, file.open("rb") as data:
        case = locker.find_case(conn, case_ref)
        item = locker.add_item(
            conn,
            local_store(settings.data_dir),
            SYSTEM.username,
            case.id,
            data,
            kind,
            guessed,
            file.name,
            meta,
            when,
        )
    out.print(f"added {item.kind} {item.id} sha256={item.sha256} ({item.size} bytes)", highlight=False)


@app.command("custody")
@friendly
def custody_check(
    case_ref: Annotated[str, typer.Argument(metavar="CASE", help="Case number or id.")],
) -> None:
    """Verify a case's chain of custody in the database; exit 1 naming the first bad entry."""
    db = cli_support.database(cli_support.settings())
    with db.snapshot() as conn:
        result = custody.verify_case(conn, locker.find_case(conn, case_ref).id)
    if not result.ok:
        err.print(f"[red]FAILED:[/red] {result.describe()}", highlight=False)
        raise typer.Exit(1)
    out.print(f"OK: {result.describe()}", highlight=False)


@app.command("export")
@friendly
def export(
    case_ref: Annotated[str, typer.Argument(metavar="CASE", help="Case number or id.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the package folder into.")] = Path(),
) -> None:
    """Write a signed package folder (media/, manifest.json, custody.jsonl, signature.json)."""
    settings = cli_support.settings()
    exported = export_case(
        cli_support.database(settings),
        local_store(settings.data_dir),
        keys.signing_key(settings.data_dir),
        case_ref,
        out_dir,
        SYSTEM.username,
    )
    out.print(
        f"exported {exported.items} items and {exported.custody_entries} custody entries to {exported.path}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("verify")
@friendly
def verify(
    package: Annotated[Path, typer.Argument(help="The package folder.")],
    public_key: Annotated[
        Path | None, typer.Option(help="PEM public key of the instance that signed it (default: this one's).")
    ] = None,
) -> None:
    """Exit 0 with one OK line, or 1 naming what changed in the package."""
    if not package.is_dir():
        raise NotFound(f"{package} is not a package folder")
    if public_key is not None:
        try:
            trusted = keys.load_public_pem(public_key.read_bytes())
        except OSError as exc:
            raise InvalidInput(f"cannot read {public_key}: {exc.strerror}") from None
    else:
        trusted = keys.own_public_key(cli_support.settings().data_dir)
    result = verify_package(package, trusted)
    if not result.ok:
        err.print(f"[red]FAILED:[/red] {result.summary()}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(result.summary(), highlight=False, soft_wrap=True)


@app.command("public-key")
@friendly
def show_public_key() -> None:
    """Print this instance's public key (PEM), to hand over with a package."""
    out.print(
        keys.public_pem(keys.signing_key(cli_support.settings().data_dir).public_key()).strip(),
        highlight=False,
    )


def _source(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidInput("--source must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidInput("--source must be a JSON object")
    return value


def _when(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("--captured-at must be ISO 8601, e.g. 2026-11-22T14:05:00+02:00") from None
