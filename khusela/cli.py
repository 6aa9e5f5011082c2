"""The `khusela` command. Every command reads the same `KHUSELA_*` settings as the server.

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from khusela import cli_support
from khusela.cctv.cli import app as cctv_app
from khusela.core.settings import Environment
from khusela.cyber.cli import app as cyber_app
from khusela.evidence.cli import app as evidence_app
from khusela.identity import directory, totp
from khusela.identity.model import SYSTEM, AgencyType, Clearance, Jurisdiction, Role
from khusela.intel.cli import app as intel_app
from khusela.partners.cli import app as partners_app
from khusela.risk.cli import app as risk_app

app = typer.Typer(
    help="Khusela public-safety operations platform.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
agencies_app = typer.Typer(help="Agencies and their jurisdictions.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and clearances.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(agencies_app, name="agencies")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(cctv_app, name="cctv")
app.add_typer(evidence_app, name="evidence")
app.add_typer(cyber_app, name="cyber")
app.add_typer(intel_app, name="intel")
app.add_typer(partners_app, name="partners")
app.add_typer(risk_app, name="risk")

_settings, _database = cli_support.settings, cli_support.database
out, err, friendly = cli_support.out, cli_support.err, cli_support.friendly


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Run the API and console (migrates the database first)."""
    from khusela.server import run

    run(_settings(), host=host, port=port)


@app.command()
@friendly
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Seed Gauteng demo data (once per data dir), print the demo logins, and serve."""
    from khusela.server import run_demo

    run_demo(host=host, port=port)


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Apply every pending migration."""
    from khusela.store.migrate import upgrade

    settings = _settings()
    upgrade(_database(settings))
    out.print("database is at the newest schema")


@agencies_app.command("create")
@friendly
def agencies_create(
    name: Annotated[str, typer.Option(help="Agency name, unique.")],
    type: Annotated[AgencyType, typer.Option(help="Kind of agency.")],
    province: Annotated[list[str] | None, typer.Option(help="Province code(s) it covers, e.g. GP.")] = None,
    municipality: Annotated[list[str] | None, typer.Option(help="Municipality code(s) it covers.")] = None,
    cell: Annotated[list[str] | None, typer.Option(help="H3 cell(s) it covers.")] = None,
) -> None:
    """Create an agency with its jurisdiction."""
    where = Jurisdiction(frozenset(province or ()), frozenset(municipality or ()), frozenset(cell or ()))
    db = _database(_settings())
    with db.write() as conn:
        agency = directory.create_agency(conn, SYSTEM, name, type, where)
    out.print(f"created agency {agency.name} ({agency.type.value}) id={agency.id}")


@agencies_app.command("list")
@friendly
def agencies_list() -> None:
    """List agencies."""
    db = _database(_settings())
    with db.read() as conn:
        rows = directory.list_agencies(conn, SYSTEM)
    table = Table("name", "type", "jurisdiction", "id")
    for a in rows:
        where = ", ".join(a.provinces + a.municipalities) + (f" {a.cell_count} cells" if a.cell_count else "")
        table.add_row(a.name, a.type.value, where.strip(", "), a.id)
    out.print(table)


@users_app.command("create")
@friendly
def users_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[list[Role], typer.Option(help="Role (repeat for several).")],
    agency: Annotated[str | None, typer.Option(help="Agency name or id (not for residents).")] = None,
    clearance: Annotated[str, typer.Option(help="unclassified … top_secret")] = "unclassified",
    phone: Annotated[str | None, typer.Option(help="Mobile number (residents sign in with it).")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
) -> None:
    """Create a user. The password is read from stdin (not for residents)."""
    level = Clearance.parse(clearance)
    needs_password = set(role) != {Role.RESIDENT}
    password = _read_password() if needs_password else None
    db = _database(_settings())
    with db.write() as conn:
        agency_id = directory.find_agency(conn, agency).id if agency else None
        created = directory.create_user(
            conn,
            SYSTEM,
            username=username,
            roles=role,
            password=password,
            agency_id=agency_id,
            clearance=level,
            phone=phone,
            display_name=display_name,
        )
    out.print(f"created user {created.user.username} id={created.user.user_id}")
    if created.provisioning_uri:
        out.print("enrol TOTP with this URI (shown once):")
        out.print(created.provisioning_uri, soft_wrap=True, highlight=False)


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise ValueError("give the password on stdin (e.g. printf '%s' \"$PW\" | khusela users create …)")
    return line


@users_app.command("list")
@friendly
def users_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency (name or id).")] = None,
) -> None:
    """List users."""
    db = _database(_settings())
    with db.read() as conn:
        agency_id = directory.find_agency(conn, agency).id if agency else None
        rows = directory.list_users(conn, SYSTEM, agency_id)
    table = Table("username", "roles", "agency", "clearance", "active")
    for u in rows:
        table.add_row(
            u.username,
            ", ".join(u.roles),
            u.agency_name or "—",
            u.clearance,
            "yes" if u.is_active else "no",
        )
    out.print(table)


@users_app.command("totp")
@friendly
def users_totp(username: str) -> None:
    """Print a user's current TOTP code (demo and development only)."""
    settings = _settings()
    if settings.environment not in (Environment.DEMO, Environment.DEVELOPMENT, Environment.TEST):
        raise ValueError("current codes are shown only in demo or development environments")
    from sqlalchemy import select

    from khusela.core.sealed import SealError, sealer
    from khusela.identity.tables import users

    db = _database(settings)
    with db.read() as conn:
        row = conn.execute(
            select(users.c.id, users.c.totp_secret).where(users.c.username == username.lower())
        ).first()
    if row is None or not row.totp_secret:
        raise ValueError(f"{username} has no TOTP enrolled")
    try:
        secret = sealer(settings.secret_key, totp.SEALED).open(row.totp_secret, row.id)
    except SealError:
        raise ValueError(f"{username}'s TOTP secret does not open with this KHUSELA_SECRET_KEY") from None
    out.print(totp.current_code(secret))


@audit_app.command("verify")
@friendly
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first bad record if it was tampered with."""
    from khusela.audit.log import verify

    db = _database(_settings())
    with db.snapshot() as conn:
        result = verify(conn)
    if result.ok:
        out.print(f"audit chain intact: {result.checked} records")
        return
    where = f"record {result.first_bad_seq}" if result.first_bad_seq else "the chain's end"
    detail = f"{result.reason} ({result.checked} records verified before it)"
    err.print(f"[red]audit chain broken at {where}:[/red] {detail}", highlight=False)
    raise typer.Exit(1)


def main() -> None:
    app()
