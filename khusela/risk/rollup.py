"""Roll-ups: the 5x5 risk matrix (likelihood x impact) of the open register entries per
municipality, district and province, and its CSV export.

Only entries the viewer may read are counted (the same `read_filter` as the list), so a
provincial roll-up seen by a municipal official is the roll-up of *their* part of it: a
count never leaks what a list would hide. Closed entries are left out: the matrix shows the
risks being carried now."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from khusela.core.errors import InvalidInput
from khusela.identity.model import Principal
from khusela.identity.policy import Action, read_filter
from khusela.risk.model import EntryStatus, Level, level_of
from khusela.risk.register import ENTRY_COLUMNS
from khusela.risk.tables import risk_entries, risk_localities

LEVELS = ("municipality", "district", "province")


@dataclass(slots=True)
class Matrix:
    level: str
    code: str
    name: str
    cells: list[list[int]] = field(default_factory=lambda: [[0] * 5 for _ in range(5)])
    """cells[likelihood - 1][impact - 1] = open entries."""

    def add(self, likelihood: int, impact: int, n: int) -> None:
        self.cells[likelihood - 1][impact - 1] += n

    @property
    def total(self) -> int:
        return sum(map(sum, self.cells))

    def by_level(self) -> dict[str, int]:
        out = {level.value: 0 for level in Level}
        for li in range(5):
            for im in range(5):
                out[level_of(li + 1, im + 1).value] += self.cells[li][im]
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "name": self.name,
            "cells": self.cells,
            "total": self.total,
            "by_level": self.by_level(),
        }


def _group_column(level: str) -> Any:
    if level == "municipality":
        return risk_entries.c.municipality
    if level == "district":
        # A metro has no district: it is its own (as Stats SA reports metros).
        return func.coalesce(risk_entries.c.district, risk_entries.c.municipality)
    if level == "province":
        return risk_entries.c.province
    raise InvalidInput(f"level: one of {', '.join(LEVELS)}")


def matrices(conn: Connection, viewer: Principal, level: str, code: str | None = None) -> list[Matrix]:
    """One matrix per locality at `level` (or only `code`) that has open entries the viewer
    may read; a `code` with none gives one empty matrix, so the console can draw it."""
    group = _group_column(level)
    query = (
        select(group.label("code"), risk_entries.c.likelihood, risk_entries.c.impact, func.count().label("n"))
        .where(
            read_filter(viewer, Action.RISK_READ, ENTRY_COLUMNS),
            risk_entries.c.status != EntryStatus.CLOSED.value,
        )
        .group_by(group, risk_entries.c.likelihood, risk_entries.c.impact)
    )
    if code:
        query = query.where(group == code)
    names = {r.code: r.name for r in conn.execute(select(risk_localities.c.code, risk_localities.c.name))}
    if code and code not in names:
        raise InvalidInput(f"code: no {level} {code!r}")
    out: dict[str, Matrix] = {}
    for row in conn.execute(query):
        if row.code is None:
            continue
        matrix = out.setdefault(row.code, Matrix(level, row.code, names.get(row.code, row.code)))
        matrix.add(row.likelihood, row.impact, row.n)
    if code and code not in out:
        out[code] = Matrix(level, code, names[code])
    return sorted(out.values(), key=lambda m: (-m.total, m.name))


CSV_HEADER = ("level", "code", "name", "likelihood", "impact", "score", "risk_level", "open_entries")


def to_csv(found: list[Matrix]) -> str:
    """All 25 cells of every matrix (zeros included), so a spreadsheet pivot has them all."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for m in found:
        for li in range(1, 6):
            for im in range(1, 6):
                writer.writerow(
                    (
                        m.level,
                        m.code,
                        m.name,
                        li,
                        im,
                        li * im,
                        level_of(li, im).value,
                        m.cells[li - 1][im - 1],
                    )
                )
    return buffer.getvalue()
