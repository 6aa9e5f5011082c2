"""STIX export and import, the entity graph, requests for information, the review clock and
imminent-danger release, through the API on both databases."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from khusela.intel import stix, store
from khusela.intel.handling import PURGE_GRACE
from khusela.intel.signing import generate_key, public_key_pem
from tests.integration.intel.conftest import Desk


def test_stix_export_round_trips_markings_and_respects_the_group_ceiling(desk: Desk) -> None:
    amber = desk.submit(
        "sipho", tlp="AMBER", caveats=["LEO"], source_grade="A", information_grade=1, handling="C"
    )
    green = desk.submit("sipho", tlp="GREEN", classification="restricted")
    desk.submit("sipho", tlp="RED")
    bundle = desk.get("sipho", "/api/intel/export/stix", reason="briefing for the joint operations centre")
    assert bundle.status_code == 200, bundle.text
    back = {str(i.id): i for i in stix.from_bundle(bundle.json()).items}
    assert set(back) >= {amber["id"], green["id"]}
    marking = back[amber["id"]].marking
    assert (marking.tlp.label, marking.classification.label, marking.caveats) == (
        "TLP:AMBER",
        "confidential",
        frozenset({"LEO"}),
    )
    grade = back[amber["id"]].grade
    assert grade is not None
    assert grade.code == "A1"

    group = desk.client.post(
        "/api/intel/groups",
        json={"name": "Metro dashboards", "max_tlp": "GREEN", "max_classification": "restricted"},
        headers=desk.auth["sipho"],
    ).json()["id"]
    bounded = desk.get("sipho", "/api/intel/export/stix", reason="metro weekly briefing", group=group).json()
    assert {o["id"].split("--")[1] for o in bounded["objects"] if o["type"] == "report"} == {green["id"]}
    assert desk.get("sipho", "/api/intel/export/stix").status_code == 422  # reason required
    assert desk.get("thabo", "/api/intel/export/stix", reason="not my group", group=group).status_code == 404

    # Import into another agency: markings kept, idempotent, and bad bundles refused.
    imported = desk.client.post("/api/intel/import/stix", json=bundle.json(), headers=desk.auth["thabo"])
    assert imported.status_code == 200, imported.text
    assert imported.json()["unchanged"] >= 2  # the ids already exist here
    unmarked = {
        "type": "bundle",
        "id": "bundle--6f1c6c55-4c4e-4b0e-9a39-6c1d1f0a6b2e",
        "objects": [{"type": "x"}],
    }
    refused = desk.client.post("/api/intel/import/stix", json=unmarked, headers=desk.auth["thabo"])
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


def test_entity_graph_never_reveals_a_hidden_item(desk: Desk) -> None:
    shared = desk.submit("sipho", tlp="GREEN", classification="restricted")
    hidden = desk.submit("sipho", tlp="AMBER", title="Handler meets the buyer")
    post = desk.client.post
    gang = post(
        "/api/intel/entities",
        json={"kind": "organisation", "label": "Riverlea syndicate", "tlp": "GREEN"},
        headers=desk.auth["sipho"],
    ).json()["id"]
    shaft = post(
        "/api/intel/entities",
        json={"kind": "mine_site", "label": "Riverlea shaft 4", "tlp": "GREEN"},
        headers=desk.auth["sipho"],
    ).json()["id"]
    buyer = post(
        "/api/intel/entities",
        json={"kind": "business", "label": "Denver scrap buyer", "tlp": "GREEN"},
        headers=desk.auth["sipho"],
    ).json()["id"]
    for item in (shared, hidden):
        linked = post(
            f"/api/intel/entities/{gang}/items", json={"item_id": item["id"]}, headers=desk.auth["sipho"]
        )
        assert linked.status_code == 201, linked.text
    post(
        f"/api/intel/entities/{gang}/links",
        json={"target_id": shaft, "relation": "operates_at", "asserted_by": shared["id"]},
        headers=desk.auth["sipho"],
    )
    post(
        f"/api/intel/entities/{gang}/links",
        json={"target_id": buyer, "relation": "sells_to", "asserted_by": hidden["id"]},
        headers=desk.auth["sipho"],
    )
    own = desk.get("sipho", f"/api/intel/entities/{gang}").json()
    assert {i["id"] for i in own["items"]} == {shared["id"], hidden["id"]}
    assert {n["entity"]["label"] for n in own["neighbours"]} == {"Riverlea shaft 4", "Denver scrap buyer"}
    other = desk.get("thabo", f"/api/intel/entities/{gang}")
    assert other.status_code == 200, other.text
    assert [i["id"] for i in other.json()["items"]] == [shared["id"]]
    assert [n["entity"]["label"] for n in other.json()["neighbours"]] == ["Riverlea shaft 4"]
    assert hidden["title"] not in other.text
    assert (
        desk.get("thabo", f"/api/intel/entities/{buyer}").status_code == 404
    )  # only the hidden item names it


def test_a_person_needs_a_justification(desk: Desk) -> None:
    body = {"kind": "person", "label": "Sipho 'Gold' M.", "tlp": "AMBER"}
    refused = desk.client.post("/api/intel/entities", json=body, headers=desk.auth["sipho"])
    assert refused.status_code == 422
    assert "reasonable-suspicion" in refused.json()["detail"]
    justified = body | {
        "justification": "Seen twice collecting gold-bearing sand from the Riverlea shaft buyers",
        "criminal_activity": "illegal_mining",
    }
    assert (
        desk.client.post("/api/intel/entities", json=justified, headers=desk.auth["sipho"]).status_code == 201
    )
    views = justified | {"label": "Another", "attributes": {"political_affiliation": "X"}}
    special = desk.client.post("/api/intel/entities", json=views, headers=desk.auth["sipho"])
    assert special.status_code == 422
    assert "open case" in special.json()["detail"]


def test_rfi_asked_assigned_answered_with_a_marked_answer(desk: Desk) -> None:
    asked = desk.client.post(
        "/api/intel/rfis",
        json={
            "question": "Who buys gold from the Riverlea shafts?",
            "tlp": "AMBER",
            "classification": "restricted",
        },
        headers=desk.auth["sipho"],
    )
    assert asked.status_code == 201, asked.text
    rfi = asked.json()["id"]
    assert desk.get("thabo", f"/api/intel/rfis/{rfi}").status_code == 404
    assigned = desk.client.post(
        f"/api/intel/rfis/{rfi}/assign", json={"agency_id": desk.saps}, headers=desk.auth["sipho"]
    )
    assert assigned.status_code == 200, assigned.text
    assert [r["id"] for r in desk.get("thabo", "/api/intel/rfis").json()] == [rfi]
    answered = desk.client.post(
        f"/api/intel/rfis/{rfi}/answer",
        json={
            "answer": "A Denver scrap dealer, see CAS 12/3",
            "tlp": "AMBER",
            "classification": "secret",
            "grade": "B2 P",
        },
        headers=desk.auth["thabo"],
    )
    assert answered.status_code == 200, answered.text
    assert desk.get("sipho", f"/api/intel/rfis/{rfi}").json()["answer"]["text"].startswith("A Denver")
    lerato = desk.get("lerato", f"/api/intel/rfis/{rfi}").json()  # asking agency, restricted clearance
    assert lerato["answer"]["hidden"] is True
    assert "Denver" not in str(lerato)
    again = desk.client.post(
        f"/api/intel/rfis/{rfi}/answer",
        json={"answer": "again", "tlp": "AMBER", "classification": "restricted"},
        headers=desk.auth["thabo"],
    )
    assert again.status_code == 422


def test_review_clock_hides_then_purges(desk: Desk) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    item = desk.submit("sipho", tlp="GREEN", review_at=soon)
    assert desk.get("thabo", f"/api/intel/items/{item['id']}").status_code == 200
    later = datetime.now(UTC) + timedelta(days=1)
    with desk.platform.db.write() as conn:
        counts = store.run_review(conn, "system", later)
    assert counts == {"hidden": 1, "purged": 0}
    with desk.platform.db.write() as conn:
        counts = store.run_review(conn, "system", later + PURGE_GRACE)
    assert counts == {"hidden": 0, "purged": 1}
    assert desk.get("sipho", f"/api/intel/items/{item['id']}").status_code == 404


def test_intel_commands(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from khusela.cli import app

    shutil.copy(sqlite_template, tmp_path / "k.db")
    monkeypatch.setenv("KHUSELA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KHUSELA_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    runner = CliRunner()
    named = runner.invoke(app, ["intel", "instance", "gauteng"])
    assert named.exit_code == 0, named.output
    assert "BEGIN PUBLIC KEY" in named.output
    assert "fingerprint" in named.output
    partner_key = tmp_path / "kzn.pem"
    partner_key.write_bytes(public_key_pem(generate_key().public_key()))
    added = runner.invoke(app, ["intel", "partner-add", "kwazulu-natal", "--key", str(partner_key)])
    assert added.exit_code == 0, added.output
    reviewed = runner.invoke(app, ["intel", "review"])
    assert reviewed.exit_code == 0, reviewed.output
    assert "purged 0 item(s)" in reviewed.output
    for bad in (
        ["intel", "partner-add", "x", "--key", str(tmp_path / "missing.pem")],
        ["intel", "partner-add", "x", "--key", str(tmp_path / "k.db")],
        ["intel", "instance", "no spaces allowed"],
        ["intel", "sync", "nowhere", "--direction", "sideways"],
    ):
        result = runner.invoke(app, bad)
        assert result.exit_code == 1, (bad, result.output)
        assert "Traceback" not in result.output
        assert result.output.startswith("error: "), result.output


def test_imminent_danger_release_reaches_the_mayor_sanitised(desk: Desk) -> None:
    item = desk.submit(
        "sipho",
        tlp="AMBER",
        human_source=True,
        source_ref="SRC-GP-0042",
        title="Armed group plans to storm the council",
    )
    mayor = desk.users["mayor"].user_id
    review = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    short = desk.client.post(
        f"/api/intel/items/{item['id']}/releases",
        json={"recipient_user_id": mayor, "justification": "danger", "review_by": review},
        headers=desk.auth["sipho"],
    )
    assert short.status_code == 422
    released = desk.client.post(
        f"/api/intel/items/{item['id']}/releases",
        json={
            "recipient_user_id": mayor,
            "justification": "Armed group expected at Thursday's council sitting; evacuate the chamber",
            "review_by": review,
        },
        headers=desk.auth["sipho"],
    )
    assert released.status_code == 201, released.text
    got = desk.get("mayor", "/api/intel/releases").json()
    assert [r["item"]["title"] for r in got] == [item["title"]]
    assert got[0]["item"]["sanitised"] is True
    assert "SRC-GP-0042" not in str(got)
    assert desk.get("mayor", f"/api/intel/items/{item['id']}").status_code == 403
