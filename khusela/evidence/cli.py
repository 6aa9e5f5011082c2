"""`khusela evidence …`: export and verify evidence packages."""

from __future__ import annotations

import typer

app = typer.Typer(help="The evidence locker.", no_args_is_help=True)
