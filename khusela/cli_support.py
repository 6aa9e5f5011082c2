"""What every `khusela` sub-command shares: one-line errors instead of tracebacks, and the
settings and database every command reads (the same `KHUSELA_*` settings as the server)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import OperationalError, ProgrammingError

from khusela.core.errors import KhuselaError
from khusela.core.settings import Settings, load_settings
from khusela.store.database import Database

out = Console()
err = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except KhuselaError as exc:
            message = exc.detail
        except ValidationError as exc:
            first = exc.errors()[0]
            message = f"invalid setting {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        except (OperationalError, ProgrammingError) as exc:
            message = f"database error: {str(exc.orig).splitlines()[0] if exc.orig else exc}"
        except ValueError as exc:
            message = str(exc)
        err.print(f"[red]error:[/red] {message}", highlight=False)
        raise typer.Exit(1)

    return wrapper


def settings() -> Settings:
    return load_settings()


def database(settings: Settings) -> Database:
    return Database(settings.resolved_database_url)
