"""`khusela serve` with several Uvicorn worker processes, for the panic benchmark.

    python -m bench.panic_app --port 8000 --workers 2

`khusela serve` runs one process. This runs the same application, assembled from the same
`KHUSELA_*` settings in the same way (`create_app(bootstrap(settings))`, JSON logs, no
Uvicorn access log), in `--workers` processes sharing one listening socket, as
`uvicorn --workers N` does. Each worker has its own platform: its own database pool,
bus connection, outbox relay and feed subscription. The database must be migrated first
(`khusela db upgrade`, or `khusela serve` once).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from fastapi import FastAPI


def app() -> FastAPI:
    """The application factory each worker calls."""
    from khusela.api.app import create_app
    from khusela.bootstrap import bootstrap
    from khusela.core.logging import configure_logging
    from khusela.core.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(bootstrap(settings))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    import uvicorn

    from khusela.core.logging import configure_logging
    from khusela.core.settings import load_settings

    configure_logging(load_settings().log_level)
    uvicorn.run(
        "bench.panic_app:app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
