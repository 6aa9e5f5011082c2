"""A joint operation's outcomes roll up into the risk register when it is debriefed: every
open entry of a fitting category whose locality shares ground with the operation's area gets
a done mitigation line in a new version, signed by the operation; nothing else changes, and
the debrief's answer counts only the entries the caller may read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.demo.geodata import gauteng
from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Principal, Role
from khusela.partners import operations
from khusela.partners.model import OutcomeKind
from khusela.risk import localities, register
from khusela.risk.model import Category, EntrySpec
from khusela.store.database import Database
from tests.conftest import People, bearer
from tests.integration.risk.risk_support import Officials, entry, officials

JHB = Jurisdiction(municipalities=frozenset({"JHB"}), provinces=frozenset({"GP"}))
HILLBROW_BLOCK = [[-26.185, 28.043], [-26.185, 28.052], [-26.192, 28.052], [-26.192, 28.043]]
START = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


def _add(client: TestClient, headers: dict[str, str], locality: str, **extra: Any) -> str:
    response = client.post("/api/risk/register", headers=headers, json=entry(locality, **extra))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _plan(client: TestClient, headers: dict[str, str], lead: str, name: str) -> str:
    response = client.post(
        "/api/partners/operations",
        headers=headers,
        json={
            "name": name,
            "objective": "Close the illegal shafts and arrest the syndicate's runners",
            "starts_at": START.isoformat(),
            "ends_at": (START + timedelta(days=2)).isoformat(),
            "lead_agency_id": lead,
            "commander": "Lt-Col. Ndlovu",
            "polygon": HILLBROW_BLOCK,
            "municipality": "JHB",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _outcome(client: TestClient, headers: dict[str, str], op: str, kind: str, quantity: int) -> None:
    response = client.post(
        f"/api/partners/operations/{op}/outcomes",
        headers=headers,
        json={"kind": kind, "quantity": quantity, "description": "as counted on the night"},
    )
    assert response.status_code == 201, response.text


def _debrief(client: TestClient, headers: dict[str, str], op: str) -> dict[str, Any]:
    response = client.post(
        f"/api/partners/operations/{op}/debrief",
        headers=headers,
        json={"debrief": "Shafts sealed with DMRE; runners handed to SAPS."},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _versions(client: TestClient, who: Officials, ids: dict[str, str]) -> dict[str, int]:
    found = {}
    for name, entry_id in ids.items():
        headers = who.tshwane if name == "tshwane" else who.joburg
        found[name] = client.get(f"/api/risk/register/{entry_id}", headers=headers).json()["version"]
    return found


def test_outcomes_are_noted_on_the_open_entries_of_the_area(
    client: TestClient, platform: Platform, people: People
) -> None:
    who = officials(client, platform)
    ids = {
        "joburg_mining": _add(client, who.joburg, "JHB"),
        "hillbrow_mining": _add(client, who.joburg, "SAPS:Hillbrow"),
        "diepsloot_mining": _add(client, who.joburg, "SAPS:Diepsloot"),  # same city, elsewhere
        "joburg_gbv": _add(client, who.joburg, "JHB", category="gender_based_violence"),
        "tshwane": _add(client, who.tshwane, "TSH", owner="Tshwane Metro Police"),
    }
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, JHB)
    operator = bearer(client, people.user("cmdr-ndlovu", Role.OPERATOR, agency_id=saps))
    op = _plan(client, operator, saps, "Vala Umgodi Hillbrow")
    _outcome(client, operator, op, "arrest", 7)
    _outcome(client, operator, op, "arrest", 5)
    _outcome(client, operator, op, "mining_site_closed", 2)
    _outcome(client, operator, op, "other", 1)

    closed = _debrief(client, operator, op)

    assert closed["status"] == "closed"
    assert closed["register_entries_updated"] == 2
    assert _versions(client, who, ids) == {
        "joburg_mining": 2,
        "hillbrow_mining": 2,
        "diepsloot_mining": 1,
        "joburg_gbv": 1,
        "tshwane": 1,
    }
    noted = client.get(f"/api/risk/register/{ids['hillbrow_mining']}", headers=who.joburg).json()
    assert noted["mitigations"][0]["action"] == "Seal the shafts with DMRE", "the official's lines stay"
    line = noted["mitigations"][-1]
    assert line["action"] == (
        "Operation Vala Umgodi Hillbrow (3 Mar 2026 - 5 Mar 2026): 12 arrests, 2 illegal mining sites closed"
    )
    assert (line["due"], line["status"], line["overdue"]) == ("2026-03-05", "done", False)
    [latest, *_] = client.get(
        f"/api/risk/register/{ids['hillbrow_mining']}/history", headers=who.joburg
    ).json()
    assert latest["by"] == f"operation {op}"
    assert latest["version"] == 2
    again = client.post(
        f"/api/partners/operations/{op}/debrief",
        headers=operator,
        json={"debrief": "A second debrief, too late."},
    )
    assert again.status_code == 409
    assert _versions(client, who, ids)["joburg_mining"] == 2


def test_entries_the_caller_cannot_read_are_noted_but_not_counted(
    client: TestClient, platform: Platform, people: People
) -> None:
    who = officials(client, platform)
    joburg = _add(client, who.joburg, "JHB")
    tsh_police = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    visitor = bearer(client, people.user("tmpd-cc", Role.OPERATOR, agency_id=tsh_police))
    op = _plan(client, visitor, tsh_police, "Operation Vala Umgodi (mutual aid)")
    _outcome(client, visitor, op, "mining_site_closed", 1)

    closed = _debrief(client, visitor, op)

    assert closed["register_entries_updated"] == 0, "a Tshwane operator is not told of Joburg's register"
    assert client.get(f"/api/risk/register/{joburg}", headers=visitor).status_code == 404
    noted = client.get(f"/api/risk/register/{joburg}", headers=who.joburg).json()
    assert noted["version"] == 2
    assert noted["mitigations"][-1]["action"].endswith(": 1 illegal mining site closed")


def test_an_operation_without_fitting_outcomes_touches_nothing(
    client: TestClient, platform: Platform, people: People
) -> None:
    who = officials(client, platform)
    ids = {
        "joburg_mining": _add(client, who.joburg, "JHB"),
        "hillbrow": _add(client, who.joburg, "SAPS:Hillbrow"),
    }
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, JHB)
    operator = bearer(client, people.user("cmdr-ndlovu", Role.OPERATOR, agency_id=saps))
    op = _plan(client, operator, saps, "Operation Clean Sweep")
    _outcome(client, operator, op, "other", 4)
    _outcome(client, operator, op, "bylaw_notice", 9)  # no by-law entry in the area

    closed = _debrief(client, operator, op)

    assert closed["register_entries_updated"] == 0
    assert _versions(client, who, ids) == {"joburg_mining": 1, "hillbrow": 1}


def test_each_entry_is_told_only_the_outcomes_that_speak_to_its_category() -> None:
    operation = {
        "name": "Operation Shanela",
        "starts_at": START,
        "ends_at": START + timedelta(hours=5),
    }
    totals = {OutcomeKind.ARREST: 1, OutcomeKind.SEIZURE: 3, OutcomeKind.MINING_SITE_CLOSED: 2}

    assert (
        operations.rollup_line(operation, totals, Category.DRUG_TRAFFICKING)
        == "Operation Shanela (3 Mar 2026): 1 arrest, 3 seizures"
    )
    assert operations.rollup_line(operation, totals, Category.ILLEGAL_MINING).endswith(
        ": 1 arrest, 3 seizures, 2 illegal mining sites closed"
    )
    assert operations.rollup_line({**operation, "name": "Call 082 555 1234"}, totals, Category.EXTORTION) == (
        "Joint operation (3 Mar 2026): 1 arrest"
    ), "a name the register would refuse is left out, not a failed debrief"


def test_the_register_notes_an_operation_on_both_backends(database: Database) -> None:
    """The system write itself, on SQLite and PostgreSQL: the matching entry gets a version
    with the done line and its history row; closed entries and other places are left alone."""
    joburg = Principal(
        "mayor",
        "mayor",
        frozenset({Role.MUNICIPAL_OFFICIAL}),
        Clearance.RESTRICTED,
        "agency-jhb",
        jurisdiction=Jurisdiction(municipalities=frozenset({"JHB"})),
    )
    [precinct] = next(s for s in gauteng().stations if s.name == "Hillbrow").precinct
    hillbrow = h3.cell_to_center_child(precinct, 9)  # finer than the precinct's res-7 cell
    with database.write() as conn:
        localities.load_bundled(conn, gauteng())
        spec = EntrySpec("SAPS:Hillbrow", Category.ILLEGAL_MINING, "Shafts", "Worked at night", 4, 4, "JMPD")
        open_id = register.create(conn, joburg, spec, START)["id"]
        closed_id = register.create(conn, joburg, spec, START)["id"]
        register.close(conn, joburg, closed_id, 1, START)
        far_id = register.create(conn, joburg, replace(spec, locality_code="SAPS:Diepsloot"), START)["id"]
        found = register.entries_over(conn, {hillbrow}, "JHB", {Category.ILLEGAL_MINING})
        assert found == [(open_id, Category.ILLEGAL_MINING)]
        register.note_operation(conn, open_id, "Operation X (3 Mar 2026): 1 arrest", "operation op-1", START)
    with database.read() as conn:
        noted = register.get(conn, joburg, open_id)
        assert noted["version"] == 2
        assert noted["mitigations"][-1]["status"] == "done"
        assert register.history(conn, joburg, open_id)[0]["by"] == "operation op-1"
        assert register.get(conn, joburg, far_id)["version"] == 1
        assert register.get(conn, joburg, closed_id)["version"] == 2  # its own close, nothing more
