"""`khusela cyber …`: scan logs and analyse reported e-mails from the command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="The cybersecurity command centre.", no_args_is_help=True)
