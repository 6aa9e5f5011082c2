"""The risk register through the API: officials edit their own municipality's entries only,
every edit is a version with who/what/when, readers see by jurisdiction, and entries that
would carry personal information are refused with the reason."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform
from tests.integration.risk.risk_support import entry, officials


def test_an_official_edits_their_own_entry_and_every_change_is_kept(
    client: TestClient, platform: Platform
) -> None:
    who = officials(client, platform)
    made = client.post("/api/risk/register", json=entry(), headers=who.joburg)
    assert made.status_code == 201, made.text
    created = made.json()
    assert (created["score"], created["level"], created["version"]) == (16, "high", 1)
    assert created["editable"] is True
    assert created["locality_name"] == "City of Johannesburg Metropolitan Municipality"

    edited = client.patch(
        f"/api/risk/register/{created['id']}",
        json={"version": 1, "likelihood": 5, "status": "mitigating"},
        headers=who.joburg,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["score"], edited.json()["level"], edited.json()["version"]) == (20, "extreme", 2)

    stale = client.patch(
        f"/api/risk/register/{created['id']}", json={"version": 1, "impact": 1}, headers=who.joburg
    )
    assert stale.status_code == 409, "an edit from an old version must not overwrite a newer one"
    assert stale.headers["content-type"].startswith("application/problem+json")

    history = client.get(f"/api/risk/register/{created['id']}/history", headers=who.joburg).json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["by"] == "mayor-jhb"
    assert history[0]["changes"] == {"likelihood": [4, 5], "status": ["open", "mitigating"]}
    assert history[1]["action"] == "created"
    with platform.db.read() as conn:
        actions = conn.execute(
            select(audit_log.c.action).where(audit_log.c.object_id == created["id"]).order_by(audit_log.c.seq)
        ).scalars()
        assert list(actions) == ["risk.entry_created", "risk.entry_edited"]

    # closing keeps the entry and its history (an auditor must see the risk was known)
    closed = client.delete(f"/api/risk/register/{created['id']}", params={"version": 2}, headers=who.joburg)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert client.get("/api/risk/register", headers=who.joburg).json() == []
    kept = client.get("/api/risk/register", params={"include_closed": True}, headers=who.joburg).json()
    assert [e["id"] for e in kept] == [created["id"]]
    assert len(client.get(f"/api/risk/register/{created['id']}/history", headers=who.joburg).json()) == 3


def test_other_municipalities_entries_are_neither_editable_nor_visible(
    client: TestClient, platform: Platform
) -> None:
    who = officials(client, platform)
    theirs = client.post(
        "/api/risk/register", json=entry("TSH", owner="TMPD Operations"), headers=who.tshwane
    ).json()
    ours = client.post("/api/risk/register", json=entry("JHB"), headers=who.joburg).json()

    refused = client.patch(
        f"/api/risk/register/{theirs['id']}", json={"version": 1, "impact": 1}, headers=who.joburg
    )
    assert refused.status_code == 404, "not in the official's jurisdiction: not disclosed, not editable"
    assert client.post("/api/risk/register", json=entry("TSH"), headers=who.joburg).status_code == 403
    precinct = client.post("/api/risk/register", json=entry("SAPS:Pretoria Central"), headers=who.joburg)
    assert precinct.status_code == 403, "a Tshwane precinct belongs to Tshwane"

    listed = client.get("/api/risk/register", headers=who.joburg).json()
    assert [e["id"] for e in listed] == [ours["id"]]
    province = client.get("/api/risk/register", headers=who.province).json()
    assert {e["id"] for e in province} == {ours["id"], theirs["id"]}
    assert not any(e["editable"] for e in province), "the provincial operator reads, never edits"
    assert (
        client.patch(
            f"/api/risk/register/{ours['id']}", json={"version": 1, "impact": 1}, headers=who.province
        ).status_code
        == 403
    )
    untouched = client.get(f"/api/risk/register/{theirs['id']}", headers=who.tshwane).json()
    assert (untouched["impact"], untouched["version"]) == (4, 1)


def test_personal_information_and_bad_values_are_refused_with_the_reason(
    client: TestClient, platform: Platform
) -> None:
    who = officials(client, platform)
    cases = {
        "an ID number": entry(description="Ringleader ID 8001015009087 operates the shaft"),
        "a phone number": entry(description="Call 082 555 1234 for the informer"),
        "an e-mail address": entry(owner="thabo@example.org"),
        "a nationality field": entry(nationality="unknown"),
        "a person field": entry(suspect_name="X"),
        "likelihood 6": entry(likelihood=6),
        "unknown category": entry(category="witchcraft"),
        "unknown locality": entry(locality_code="NOWHERE"),
        "a province as locality": entry(locality_code="GP"),
        "a past-due mitigation status": entry(mitigations=[{"action": "x", "status": "late"}]),
    }
    for why, body in cases.items():
        response = client.post("/api/risk/register", json=body, headers=who.joburg)
        assert response.status_code in (404, 422), (why, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), why
    detail = client.post("/api/risk/register", json=cases["an ID number"], headers=who.joburg).json()[
        "detail"
    ]
    assert "ID number" in detail
    assert "places, not people" in detail
    # A 13-digit number that is not a valid ID (bad check digit) is a figure, not a person.
    fine = client.post(
        "/api/risk/register", json=entry(description="R 8001015009088 budget line"), headers=who.joburg
    )
    assert fine.status_code == 201, fine.text
    assert (
        client.get("/api/risk/register", params={"category": "nope"}, headers=who.joburg).status_code == 422
    )
