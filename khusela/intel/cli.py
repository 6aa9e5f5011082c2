"""`khusela intel …`: the review clock, this instance's federation identity, partners, sync."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from khusela import cli_support
from khusela.cli_support import friendly, out

app = typer.Typer(help="Intelligence sharing: review clock and federation.", no_args_is_help=True)


@app.command("review")
@friendly
def review_command() -> None:
    """Run the review clock: purge every item past its review date plus the grace period
    (items past their review date are already hidden from every read)."""
    from khusela.intel.store import run_review

    db = cli_support.database(cli_support.settings())
    with db.write() as conn:
        counts = run_review(conn, "system", datetime.now(UTC))
    out.print(f"purged {counts['purged']} item(s); {counts['hidden']} hidden awaiting re-justification")


@app.command("instance")
@friendly
def instance_command(
    name: Annotated[str, typer.Argument(help="This instance's federation name, e.g. gauteng.")],
) -> None:
    """Name this instance and print its public key (create the key pair on first use) to hand
    to partner administrators out of band, with the fingerprint to read over the phone."""
    from khusela.intel import sync
    from khusela.intel.signing import key_id, public_key_pem

    settings = cli_support.settings()
    db = cli_support.database(settings)
    with db.write() as conn:
        sync.set_instance(conn, name)
    public = sync.instance_key(settings.data_dir).public_key()
    print(public_key_pem(public).decode(), end="")
    out.print(f"instance {name}, key fingerprint {key_id(public)}", highlight=False)


@app.command("partner-add")
@friendly
def partner_add_command(
    instance: Annotated[str, typer.Argument(help="The partner's federation name, e.g. kwazulu-natal.")],
    public_key: Annotated[
        Path, typer.Option("--key", help="The partner's public key (PEM), received out of band.")
    ],
    url: Annotated[str | None, typer.Option("--url", help="The partner's base URL, https://…")] = None,
) -> None:
    """Trust a partner instance's key; print its fingerprint to confirm with its administrator."""
    from khusela.intel import sync

    if not public_key.is_file():
        raise ValueError(f"{public_key} is not a file")
    if url is not None and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ValueError("partners are reached over https://")
    db = cli_support.database(cli_support.settings())
    with db.write() as conn:
        fingerprint = sync.add_partner(conn, instance, public_key.read_bytes(), url, datetime.now(UTC))
    out.print(f"partner {instance} added, key fingerprint {fingerprint}", highlight=False)


@app.command("sync")
@friendly
def sync_command(
    instance: Annotated[str, typer.Argument(help="The partner to exchange with.")],
    direction: Annotated[str, typer.Option("--direction", help="pull, push or both.")] = "both",
) -> None:
    """Pull from and/or push to a partner over HTTPS (signed with this instance's key)."""
    import httpx

    from khusela.intel import sync

    if direction not in {"pull", "push", "both"}:
        raise ValueError("--direction is pull, push or both")
    settings = cli_support.settings()
    db = cli_support.database(settings)
    with httpx.Client(timeout=60) as http:
        if direction in {"pull", "both"}:
            got = sync.pull(db, settings.data_dir, instance, http)
            summary = (
                f"{got.inserted} new, {got.updated} updated, {got.deleted} revoked, {got.kept} unchanged"
            )
            out.print(f"pulled: {summary}")
        if direction in {"push", "both"}:
            out.print(f"pushed {sync.push(db, settings.data_dir, instance, http)} record(s)")
