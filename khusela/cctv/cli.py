"""`khusela cctv …`: analytics on a video or image file."""

from __future__ import annotations

import typer

app = typer.Typer(help="CCTV analytics.", no_args_is_help=True)
