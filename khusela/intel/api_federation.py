"""Federation routes, authenticated by partner instances' Ed25519 keys, not by user tokens.

`GET /api/intel/federation/changes?since=` answers a signed pull with a signed envelope of
what that partner may receive; `POST /api/intel/federation/envelopes` applies a pushed
envelope after checking its signature. See `khusela.intel.sync` for the protocol.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep
from khusela.core.errors import InvalidInput
from khusela.intel import sync
from khusela.intel.signing import canonical_json

router = APIRouter(prefix="/api/intel/federation", tags=["intel federation"])
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024


@router.get(
    "/changes",
    summary="A signed envelope of changes for the calling partner instance",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def changes(
    request: Request, platform: PlatformDep, since: Annotated[int, Query(ge=0, le=2**62)] = 0
) -> Response:
    """Encoded once as canonical JSON (the bytes that were signed), not re-encoded by FastAPI:
    an envelope of 2,000 records would otherwise spend most of its time in the encoder."""
    key = sync.instance_key(platform.settings.data_dir)
    with platform.db.write() as conn:
        partner = sync.check_request(conn, request.headers, "GET", sync.CHANGES_PATH, request.url.query)
        envelope = sync.envelope_for(conn, key, partner, since, datetime.now(UTC))
    return Response(canonical_json(envelope), media_type="application/json")


@router.post("/envelopes", summary="Apply an envelope pushed by a partner instance")
async def envelopes(request: Request, platform: PlatformDep) -> dict[str, int]:
    raw = await request.body()
    try:
        envelope = json.loads(raw)
    except ValueError:
        raise InvalidInput("the envelope is not JSON") from None
    if not isinstance(envelope, dict):
        raise InvalidInput("the envelope must be a JSON object")

    def run() -> dict[str, int]:
        with platform.db.write() as conn:
            applied = sync.receive(conn, envelope, datetime.now(UTC))
        return {
            "inserted": applied.inserted,
            "updated": applied.updated,
            "deleted": applied.deleted,
            "kept": applied.kept,
            "refused": applied.refused,
        }

    return await run_in_threadpool(run)
