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
    paths: Annotated[list[Path], typer.Argument(help="EVTX files or folders holding them.")],
    rules: Annotated[list[Path], typer.Option("--rules", help="A Sigma rules folder (repeatable).")],
) -> None:
    """Run Sigma rules over Windows event logs: one JSON detection per line on stdout and a summary on
    stderr; rules that cannot be used and damaged records are counted, never fatal."""
    import sys

    from khusela.cyber.sigma import ReadStats, Router, detection_record, evtx_files, load_rules, scan_files

    ruleset = load_rules(rules)
    files = evtx_files(paths)
    stats = ReadStats()
    detections = 0
    for rule, event, file in scan_files(Router(ruleset.rules), files, stats):
        detections += 1
        print(json.dumps(detection_record(rule, event, file), ensure_ascii=False, default=str), flush=True)
    for failure in ruleset.failures:
        print(f"unsupported rule {failure.path}: {failure.reason}", file=sys.stderr)
    for problem in stats.errors:
        print(f"read error {problem}", file=sys.stderr)
    print(
        f"rules loaded {len(ruleset.rules)}, unsupported {len(ruleset.failures)}; files {len(files)}, "
        f"events {stats.events}, read errors {len(stats.errors)}; detections {detections}",
        file=sys.stderr,
    )
