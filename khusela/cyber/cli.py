"""`khusela cyber …`: scan logs and analyse reported e-mails from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from khusela.cli_support import friendly
from khusela.core.errors import KhuselaError

if TYPE_CHECKING:
    from khusela.cyber.phishing import Verdict

app = typer.Typer(help="The cybersecurity command centre.", no_args_is_help=True)


@app.command("phish")
def phish_command(
    files: Annotated[list[Path], typer.Argument(help="Reported e-mails as raw .eml files.")],
) -> None:
    """Print one JSON verdict per e-mail per line; an unreadable file is reported on stderr and makes
    the exit code 1 only after every other file has been analysed (a batch is never cut short)."""
    from khusela.cyber.phishing import analyse

    failed = False
    for path in files:
        try:
            _phish_one(path, analyse)
        except typer.Exit:
            failed = True
    if failed:
        raise typer.Exit(1)


@friendly
def _phish_one(path: Path, analyse: Callable[[bytes], Verdict]) -> None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KhuselaError(f"cannot read {path}: {exc.strerror or exc}") from exc
    verdict = analyse(raw)
    print(json.dumps({"file": str(path), **asdict(verdict)}, ensure_ascii=False), flush=True)


@app.command("scan")
@friendly
def scan_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Log files or folders: EVTX, JSON/NDJSON (or zips of them), syslog/auth.log, web logs."
        ),
    ],
    rules: Annotated[list[Path], typer.Option("--rules", help="A Sigma rules folder or file (repeatable).")],
    year: Annotated[
        int | None, typer.Option(help="Year for syslog lines, which carry none (default: this year).")
    ] = None,
) -> None:
    """Run Sigma rules over logs: one JSON detection per line on stdout, a summary on stderr. Rules that
    cannot be used and malformed records or lines are counted, never fatal."""
    import sys

    from khusela.cyber.sigma import Scanner, ScanStats, detection_record, input_files, load_rules

    files = input_files(paths)
    ruleset = load_rules(rules)
    if not ruleset.rules:
        raise KhuselaError(f"no usable Sigma rules under {', '.join(map(str, rules))}")
    stats = ScanStats()
    detections = 0
    for found in Scanner(ruleset.rules, year=year).scan(files, stats):
        detections += 1
        print(json.dumps(detection_record(found), ensure_ascii=False, default=str), flush=True)
    for failure in ruleset.failures:
        print(f"unsupported rule {failure.path}: {failure.reason}", file=sys.stderr)
    for problem in stats.windows.errors[:20]:
        print(f"read error {problem}", file=sys.stderr)
    malformed = dict(stats.windows.by_reason) | {f"text: {k}": v for k, v in stats.text.malformed.items()}
    print(
        f"rules loaded {len(ruleset.rules)}, unsupported {len(ruleset.failures)}; files {stats.files}, "
        f"events {stats.events}, malformed {stats.malformed} {malformed or ''}, "
        f"read errors {len(stats.windows.errors)}; detections {detections}",
        file=sys.stderr,
    )
