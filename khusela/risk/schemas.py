"""Risk API bodies. Incoming bodies refuse unknown fields: a `nationality`, `suspect` or
`resident_id` field sent by a client is an error, not silently dropped, so nobody believes
the register stored it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from khusela.api.schemas import Incoming, Outgoing
from khusela.risk.mines import MineStatus
from khusela.risk.model import ActionStatus, Category, EntryStatus, Level


class MitigationIO(Incoming):
    action: str = Field(min_length=1, max_length=500)
    due: date | None = None
    status: ActionStatus = ActionStatus.PLANNED


class EntryIn(Incoming):
    locality_code: str = Field(min_length=1, max_length=40)
    category: Category
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    owner: str = Field(min_length=1, max_length=200, description="The office responsible, not a person.")
    mitigations: list[MitigationIO] = Field(default_factory=list, max_length=50)
    status: EntryStatus = EntryStatus.OPEN
    review_date: date | None = None


class EntryPatch(Incoming):
    version: int = Field(ge=1, description="The version the edit was made from (409 if it is stale).")
    locality_code: str | None = Field(None, min_length=1, max_length=40)
    category: Category | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, min_length=1, max_length=4000)
    likelihood: int | None = Field(None, ge=1, le=5)
    impact: int | None = Field(None, ge=1, le=5)
    owner: str | None = Field(None, min_length=1, max_length=200)
    mitigations: list[MitigationIO] | None = Field(None, max_length=50)
    status: EntryStatus | None = None
    review_date: date | None = None


class MitigationOut(Outgoing):
    action: str
    due: date | None
    status: ActionStatus
    overdue: bool


class EntryOut(Outgoing):
    id: str
    locality_code: str
    locality_name: str
    province: str
    district: str | None
    municipality: str | None
    category: Category
    title: str
    description: str
    likelihood: int
    impact: int
    score: int
    level: Level
    owner: str
    mitigations: list[MitigationOut]
    status: EntryStatus
    review_date: date | None
    review_overdue: bool
    version: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    editable: bool = Field(description="Whether the caller may edit this entry.")
    centroid: tuple[float, float] | None


class VersionOut(Outgoing):
    version: int
    at: datetime
    by: str
    action: str
    changes: dict[str, list[Any]] = Field(description="field → [old, new]")


class MatrixOut(Outgoing):
    level: str
    code: str
    name: str
    cells: list[list[int]] = Field(description="cells[likelihood-1][impact-1]: open entries")
    total: int
    by_level: dict[str, int]


class LocalityOut(Outgoing):
    code: str
    level: str
    name: str
    parent_code: str | None
    province: str
    district: str | None
    municipality: str | None
    cell_res: int
    centroid: tuple[float, float] | None
    editable: bool = Field(description="Whether the caller may add register entries here.")


class MineIn(Incoming):
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    status: MineStatus
    commodity: str | None = Field(None, max_length=40)
    last_inspection: date | None = None
    notes: str | None = Field(None, max_length=2000)


class MineOut(Outgoing):
    id: str
    name: str
    lat: float
    lon: float
    province: str
    municipality: str | None
    status: MineStatus
    commodity: str | None
    last_inspection: date | None
    notes: str | None
    incidents_near: int
    radius_m: float
