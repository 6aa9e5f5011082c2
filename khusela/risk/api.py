"""Risk routes: localities, the register (CRUD and history), mine sites, matrix roll-ups
(JSON and CSV), and the hotspot and forecast map layers from stored incidents.

Every read goes through the policy below the route (`read_filter` in the module's reads);
the route only checks that the caller's roles include the action at all."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep, require
from khusela.core.clock import SystemClock
from khusela.core.errors import InvalidInput
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Resource, can
from khusela.risk import incident_log, layers, localities, mines, register, rollup
from khusela.risk.model import Category, EntrySpec, Mitigation
from khusela.risk.schemas import (
    EntryIn,
    EntryOut,
    EntryPatch,
    LocalityOut,
    MatrixOut,
    MineIn,
    MineOut,
    MitigationIO,
    VersionOut,
)

router = APIRouter(prefix="/api/risk", tags=["risk"])
Reader = Annotated[Principal, Depends(require(Action.RISK_READ))]
Writer = Annotated[Principal, Depends(require(Action.RISK_WRITE))]
GEOJSON: dict[int | str, dict[str, Any]] = {200: {"content": {"application/geo+json": {}}}}


def _today() -> date:
    return SystemClock().now().date()


def _mitigations(items: list[MitigationIO]) -> tuple[Mitigation, ...]:
    return tuple(Mitigation(m.action, m.due, m.status) for m in items)


def _entry_out(
    row: dict[str, Any], viewer: Principal, names: dict[str, localities.Locality]
) -> dict[str, Any]:
    today = _today()
    place = names.get(row["locality_code"])
    mitigations = []
    for m in row["mitigations"]:
        due = date.fromisoformat(m["due"]) if m.get("due") else None
        mitigations.append({**m, "due": due, "overdue": bool(due and due < today and m["status"] != "done")})
    return {
        **{k: row[k] for k in EntryOut.model_fields if k in row},
        "locality_name": place.name if place else row["locality_code"],
        "mitigations": mitigations,
        "review_overdue": bool(
            row["review_date"] and row["review_date"] < today and row["status"] != "closed"
        ),
        "editable": register.may_edit(viewer, row),
        "centroid": place.centroid if place else None,
    }


def _places(conn: Any) -> dict[str, localities.Locality]:
    return {p.code: p for p in localities.list_localities(conn)}


@router.get("/localities", response_model=list[LocalityOut], summary="Localities (public geography)")
async def list_localities(
    viewer: Reader,
    platform: PlatformDep,
    level: Annotated[str | None, Query(max_length=16)] = None,
    parent: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with platform.db.read() as conn:
            found = localities.list_localities(conn, level, parent)
        return [
            {
                "code": p.code,
                "level": p.level,
                "name": p.name,
                "parent_code": p.parent_code,
                "province": p.province,
                "district": p.district,
                "municipality": p.municipality,
                "cell_res": p.cell_res,
                "centroid": p.centroid,
                "editable": p.level != "province"
                and can(
                    viewer,
                    Action.RISK_WRITE,
                    Resource(province=p.province, municipality=p.municipality or p.district),
                ),
            }
            for p in found
        ]

    return await run_in_threadpool(read)


@router.get("/register", response_model=list[EntryOut], summary="Register entries the caller may read")
async def list_register(
    viewer: Reader,
    platform: PlatformDep,
    locality: Annotated[str | None, Query(max_length=40)] = None,
    municipality: Annotated[str | None, Query(max_length=16)] = None,
    category: Category | None = None,
    include_closed: bool = False,
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with platform.db.read() as conn:
            rows = register.list_entries(
                conn,
                viewer,
                locality=locality,
                municipality=municipality,
                category=category,
                include_closed=include_closed,
            )
            names = _places(conn)
        return [_entry_out(r, viewer, names) for r in rows]

    return await run_in_threadpool(read)


@router.post(
    "/register", response_model=EntryOut, status_code=status.HTTP_201_CREATED, summary="Add an entry"
)
async def create_entry(body: EntryIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    spec = EntrySpec(**body.model_dump(exclude={"mitigations"}), mitigations=_mitigations(body.mitigations))

    def write() -> dict[str, Any]:
        with platform.db.write() as conn:
            row = register.create(conn, actor, spec)
            return _entry_out(row, actor, _places(conn))

    return await run_in_threadpool(write)


@router.get("/register/{entry_id}", response_model=EntryOut, summary="One entry")
async def get_entry(entry_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with platform.db.read() as conn:
            return _entry_out(register.get(conn, viewer, entry_id), viewer, _places(conn))

    return await run_in_threadpool(read)


@router.patch("/register/{entry_id}", response_model=EntryOut, summary="Edit an entry (a new version)")
async def edit_entry(entry_id: str, body: EntryPatch, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    given = body.model_fields_set - {"version"}
    changes: dict[str, Any] = {k: getattr(body, k) for k in given if k != "mitigations"}
    if "mitigations" in given:
        changes["mitigations"] = _mitigations(body.mitigations or [])
    for required in (
        "locality_code",
        "category",
        "title",
        "description",
        "likelihood",
        "impact",
        "owner",
        "status",
    ):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required}: cannot be emptied")

    def write() -> dict[str, Any]:
        with platform.db.write() as conn:
            row = register.edit(conn, actor, entry_id, body.version, changes)
            return _entry_out(row, actor, _places(conn))

    return await run_in_threadpool(write)


@router.delete("/register/{entry_id}", response_model=EntryOut, summary="Close an entry (history is kept)")
async def close_entry(
    entry_id: str, actor: Writer, platform: PlatformDep, version: Annotated[int, Query(ge=1)]
) -> dict[str, Any]:
    def write() -> dict[str, Any]:
        with platform.db.write() as conn:
            row = register.close(conn, actor, entry_id, version)
            return _entry_out(row, actor, _places(conn))

    return await run_in_threadpool(write)


@router.get(
    "/register/{entry_id}/history", response_model=list[VersionOut], summary="Every version, newest first"
)
async def entry_history(entry_id: str, viewer: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with platform.db.read() as conn:
            return register.history(conn, viewer, entry_id)

    return await run_in_threadpool(read)


@router.get("/matrix", response_model=list[MatrixOut], summary="5x5 risk matrices per locality")
async def matrix(
    viewer: Reader,
    platform: PlatformDep,
    level: Annotated[str, Query(pattern="^(municipality|district|province)$")] = "municipality",
    code: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with platform.db.read() as conn:
            return [m.as_json() for m in rollup.matrices(conn, viewer, level, code)]

    return await run_in_threadpool(read)


@router.get(
    "/matrix.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="The matrices as CSV (25 rows per locality)",
)
async def matrix_csv(
    viewer: Reader,
    platform: PlatformDep,
    level: Annotated[str, Query(pattern="^(municipality|district|province)$")] = "municipality",
    code: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    def read() -> str:
        with platform.db.read() as conn:
            return rollup.to_csv(rollup.matrices(conn, viewer, level, code))

    body = await run_in_threadpool(read)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="khusela-risk-matrix-{level}.csv"'},
    )


@router.get("/mines", response_model=list[MineOut], summary="Disused and derelict mine sites")
async def list_mines(
    viewer: Reader,
    platform: PlatformDep,
    radius_m: Annotated[float, Query(ge=50, le=20_000)] = 1000.0,
    days: Annotated[int | None, Query(ge=1, le=3650, description="Only incidents of the last N days")] = None,
) -> list[dict[str, Any]]:
    since = datetime.now(UTC) - timedelta(days=days) if days else None

    def read() -> list[dict[str, Any]]:
        with platform.db.read() as conn:
            return mines.list_mines(conn, viewer, radius_m, since)

    return await run_in_threadpool(read)


@router.post("/mines", response_model=MineOut, status_code=status.HTTP_201_CREATED, summary="Register a site")
async def add_mine(body: MineIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    spec = mines.MineSpec(**body.model_dump())

    def write() -> dict[str, Any]:
        with platform.db.write() as conn:
            row = mines.add(conn, actor, spec, platform.gazetteer)
        return {**row, "incidents_near": 0, "radius_m": 1000.0}

    return await run_in_threadpool(write)


def _geojson(document: dict[str, Any]) -> Response:
    body = json.dumps(document, separators=(",", ":"), allow_nan=False)
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=60"})


CategoryQuery = Annotated[list[str] | None, Query(max_length=20, description="Only these categories")]


@router.get(
    "/hotspots", response_class=Response, responses=GEOJSON, summary="Gi* hotspots of stored incidents"
)
async def hotspots(
    viewer: Reader,
    platform: PlatformDep,
    res: Annotated[int, Query(ge=6, le=10)] = 9,
    ring: Annotated[int, Query(ge=1, le=3)] = 1,
    alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.05,
    municipality: Annotated[str | None, Query(max_length=16)] = None,
    category: CategoryQuery = None,
) -> Response:
    """GeoJSON cells (res `res`) holding incidents the caller may see: count, Gi* z, BH q, hot."""

    def read() -> dict[str, Any]:
        with platform.db.read() as conn:
            data = incident_log.load(conn, viewer, municipality=municipality, categories=category or ())
        return layers.hotspots(data, res, ring, alpha)

    return _geojson(await run_in_threadpool(read))


@router.get(
    "/forecast", response_class=Response, responses=GEOJSON, summary="Where incidents are expected next"
)
async def forecast(
    viewer: Reader,
    platform: PlatformDep,
    method: Annotated[
        str, Query(pattern="^(naive|naive_ranked|kde|prospective|sepp|blend|ensemble|weighted_ensemble)$")
    ] = "kde",
    res: Annotated[int, Query(ge=6, le=10)] = 9,
    train_days: Annotated[float, Query(ge=7, le=3650)] = 365,
    horizon_days: Annotated[float, Query(ge=1, le=90)] = 7,
    top: Annotated[int, Query(ge=1, le=5000)] = 200,
    municipality: Annotated[str | None, Query(max_length=16)] = None,
    category: CategoryQuery = None,
) -> Response:
    """The `top` cells ranked by the forecaster's score for the next `horizon_days`."""

    def read() -> dict[str, Any]:
        with platform.db.read() as conn:
            data = incident_log.load(conn, viewer, municipality=municipality, categories=category or ())
        return layers.forecast(data, method, res, train_days, horizon_days, top)

    return _geojson(await run_in_threadpool(read))
