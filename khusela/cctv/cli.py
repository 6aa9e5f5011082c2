"""`khusela cctv …`: analytics on a video or image file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from khusela.cli_support import friendly, out

app = typer.Typer(help="CCTV analytics.", no_args_is_help=True)


@app.command("analyze")
@friendly
def analyze_command(
    video: Annotated[Path, typer.Argument(help="A video file (mp4, mkv, avi …) or an image (JPEG, PNG).")],
    fps: Annotated[float, typer.Option("--fps", help="Frames analysed per second of video.")] = 5.0,
    detect: Annotated[
        str, typer.Option("--detect", help="What to look for: person, plate or both.")
    ] = "person",
    watchlist: Annotated[Path | None, typer.Option("--watchlist", help="Plate watchlist CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line.")] = False,
) -> None:
    """Find and track people (and plates) in a file; print one line per track start and end."""
    from khusela.cctv.video.analyze import analyze, event_json, parse_detect  # lazy: OpenCV is heavy

    labels = parse_detect(detect)
    events = analyze(video, fps=fps, detect=labels, watchlist=watchlist)
    if as_json:
        for event in events:
            print(json.dumps(event_json(event)), flush=True)
        return
    table = Table("offset s", "event", "label", "track", "score", "box (x, y, w, h)", "plate", "watchlist")
    for event in events:
        table.add_row(
            f"{event.offset_s:.1f}",
            event.kind,
            event.label,
            str(event.track_id),
            f"{event.score:.2f}",
            ", ".join(str(v) for v in event.box),
            event.plate or "",
            event.watchlist or "",
        )
    out.print(table)


@app.command("verify-recordings")
@friendly
def verify_recordings_command(
    camera_id: Annotated[str, typer.Argument(metavar="CAMERA_ID", help="The camera's id.")],
) -> None:
    """Re-hash a camera's segment files and walk their hash chain; exit 1 naming the first
    altered, removed or reordered segment."""
    from khusela import cli_support
    from khusela.cctv.recording.chain import verify_recordings
    from khusela.cctv.recording.recorder import recordings_root
    from khusela.core.errors import KhuselaError

    settings = cli_support.settings()
    db = cli_support.database(settings)
    with db.snapshot() as conn:
        check = verify_recordings(conn, camera_id, recordings_root(settings.data_dir))
    if not check.ok:
        raise KhuselaError(check.summary() + "".join(f"\n  also: {p}" for p in check.problems[1:20]))
    out.print(check.summary(), highlight=False)
