"""The intel API on both databases: submit, need-to-know on every read, 404 not 403, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from khusela.audit.tables import audit_log
from khusela.identity.model import Clearance, Principal, Role
from khusela.intel.tables import intel_disseminations
from khusela.partners import agreements
from khusela.partners.agreements import AgreementSpec
from khusela.partners.model import AgreementStatus, AgreementType, AreaKind
from tests.integration.intel.conftest import GP, Desk, item_body, sign_in


def sharing_agreement(desk: Desk) -> None:
    """An active information-sharing agreement between the SSA and SAPS desks: what lets the
    SSA name SAPS (or its people) as recipients of TLP:AMBER and narrower."""
    liaison = Principal(
        user_id="ssa-liaison",
        username="ssa-liaison",
        roles=frozenset({Role.MUNICIPAL_OFFICIAL}),
        clearance=Clearance.RESTRICTED,
        agency_id=desk.ssa,
        jurisdiction=GP,
    )
    now = datetime.now(UTC)
    spec = AgreementSpec(
        title="Gauteng intelligence coordinating protocol",
        type=AgreementType.MOU,
        party_ids=(desk.ssa, desk.saps),
        status=AgreementStatus.ACTIVE,
        signed_on=now.date() - timedelta(days=30),
        province="GP",
    )
    with desk.platform.db.write() as conn:
        made = agreements.create(conn, liaison, spec, now)
        agreements.add_area(conn, liaison, made["id"], AreaKind.INFORMATION_SHARING, "Intelligence", "")


def test_submit_and_read_back_with_banner(desk: Desk) -> None:
    created = desk.submit("sipho", tlp="AMBER+STRICT", caveats=["LEO"], handling="C")
    assert created["tlp"] == "TLP:AMBER+STRICT"
    assert created["banner"] == "TLP:AMBER+STRICT // CONFIDENTIAL // LEO // B2 // C"
    got = desk.get("sipho", f"/api/intel/items/{created['id']}")
    assert got.status_code == 200
    assert got.json()["title"] == created["title"]


def test_lower_clearance_and_other_agency_get_404_not_403(desk: Desk) -> None:
    secret = desk.submit("sipho", classification="secret", tlp="GREEN")
    amber = desk.submit("sipho", tlp="AMBER")
    for who, item in [("lerato", secret), ("thabo", amber)]:
        response = desk.get(who, f"/api/intel/items/{item['id']}")
        assert response.status_code == 404, (who, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert secret["id"] not in desk.visible("lerato")
    assert amber["id"] not in desk.visible("thabo")
    assert desk.get("thabo", f"/api/intel/items/{secret['id']}").status_code == 200  # GREEN, cleared


def test_tlp_and_distribution_widen_visibility(desk: Desk) -> None:
    sharing_agreement(desk)
    amber_named = desk.submit(
        "sipho", tlp="AMBER", distribution={"agencies": [desk.saps]}, share_reason="joint op Kubu"
    )
    strict = desk.submit("sipho", tlp="AMBER+STRICT")
    red = desk.submit(
        "sipho", tlp="RED", distribution={"users": [desk.users["thabo"].user_id]}, share_reason="named only"
    )
    clear = desk.submit("sipho", tlp="CLEAR", classification="restricted")
    green = desk.submit("sipho", tlp="GREEN", classification="restricted")
    thabo = desk.visible("thabo")
    assert {amber_named["id"], red["id"], clear["id"], green["id"]} <= thabo
    assert strict["id"] not in thabo
    partner = desk.visible("naledi")
    assert clear["id"] in partner
    assert green["id"] not in partner  # GREEN reaches partners only through their group
    assert desk.get("mayor", "/api/intel/items").status_code == 403  # no INTEL_READ at all
    assert desk.get("operator", "/api/intel/items").status_code == 403


def test_groups_widen_up_to_amber_and_partner_sees_green_of_their_group(desk: Desk) -> None:
    created = desk.client.post(
        "/api/intel/groups",
        json={"name": "Hillbrow safety forum", "max_tlp": "GREEN", "max_classification": "restricted"},
        headers=desk.auth["sipho"],
    )
    assert created.status_code == 201, created.text
    group = created.json()["id"]
    added = desk.client.post(
        f"/api/intel/groups/{group}/members",
        json={"user_id": desk.users["naledi"].user_id},
        headers=desk.auth["sipho"],
    )
    assert added.status_code == 204, added.text
    green = desk.submit(
        "sipho",
        tlp="GREEN",
        classification="restricted",
        sharing_groups=[group],
        share_reason="forum patrols",
    )
    amber = desk.submit(
        "sipho",
        tlp="AMBER",
        classification="restricted",
        sharing_groups=[group],
        share_reason="forum patrols",
    )
    naledi = sign_in(desk.platform, desk.users["naledi"])  # fresh token: membership changed
    listed = {i["id"] for i in desk.client.get("/api/intel/items", headers=naledi).json()}
    assert green["id"] in listed
    assert amber["id"] not in listed
    refused = desk.client.post(
        "/api/intel/items",
        json=item_body(tlp="RED", sharing_groups=[group], share_reason="whole forum"),
        headers=desk.auth["sipho"],
    )
    assert refused.status_code == 422
    assert "sharing group" in refused.json()["detail"]
    # Members see who else reads the group (names and agencies, no contact details);
    # anyone outside it learns nothing, not even that it exists.
    members = desk.client.get(f"/api/intel/groups/{group}/members", headers=naledi)
    assert members.status_code == 200, members.text
    assert sorted(m["username"] for m in members.json()) == sorted(
        [desk.users["sipho"].username, desk.users["naledi"].username]
    )
    assert all(set(m) == {"user_id", "username", "display_name", "agency"} for m in members.json())
    outsider = next(who for who in desk.auth if who not in ("sipho", "naledi") and who in desk.users)
    assert desk.get(outsider, f"/api/intel/groups/{group}/members").status_code in (403, 404)
    # A community partner may leave but not remove others; the GREEN item goes with the
    # membership. The last member stays.
    pushed = desk.client.delete(
        f"/api/intel/groups/{group}/members/{desk.users['sipho'].user_id}", headers=naledi
    )
    assert pushed.status_code == 403
    left = desk.client.delete(
        f"/api/intel/groups/{group}/members/{desk.users['naledi'].user_id}", headers=naledi
    )
    assert left.status_code == 204, left.text
    naledi = sign_in(desk.platform, desk.users["naledi"])
    assert green["id"] not in {i["id"] for i in desk.client.get("/api/intel/items", headers=naledi).json()}
    last = desk.client.delete(
        f"/api/intel/groups/{group}/members/{desk.users['sipho'].user_id}", headers=desk.auth["sipho"]
    )
    assert last.status_code == 409
    assert "last member" in last.json()["detail"]


def test_search_is_filtered_by_the_policy(desk: Desk) -> None:
    mine = desk.submit(
        "sipho", title="Cable theft ring at Booysens substation", body="Copper cable stripped nightly."
    )
    desk.submit(
        "sipho", title="Unrelated extortion", body="Taxi rank protection money.", category="extortion"
    )
    shared = desk.submit(
        "sipho", title="Cable theft buyers in Denver", body="Scrap dealer buying copper cable.", tlp="GREEN"
    )
    hits = desk.get("sipho", "/api/intel/search", q="copper cable")
    assert hits.status_code == 200, hits.text
    assert {h["id"] for h in hits.json()} == {mine["id"], shared["id"]}
    assert {h["id"] for h in desk.get("thabo", "/api/intel/search", q="copper cable").json()} == {
        shared["id"]
    }
    assert desk.get("thabo", "/api/intel/search", q="!!!").status_code == 422


def test_every_read_is_audited_and_outside_reads_are_disseminations(desk: Desk) -> None:
    item = desk.submit("sipho", tlp="GREEN")
    desk.get("thabo", f"/api/intel/items/{item['id']}")
    desk.get("thabo", "/api/intel/items")
    desk.get("sipho", "/api/intel/search", q="gold")
    with desk.platform.db.read() as conn:
        reads = conn.execute(
            select(audit_log.c.actor, audit_log.c.details).where(
                audit_log.c.action == "intel.item.read", audit_log.c.object_id == item["id"]
            )
        ).all()
        logged = conn.execute(
            select(intel_disseminations).where(intel_disseminations.c.item_id == item["id"])
        ).all()
    assert sorted((r.actor, json.loads(r.details)["via"]) for r in reads) == [
        ("sipho", "search"),
        ("thabo", "item"),
        ("thabo", "list"),
    ]
    assert [(r.channel, r.actor) for r in logged] == [("read", "thabo"), ("read", "thabo")]


def test_human_source_is_sanitised_for_other_agencies(desk: Desk) -> None:
    item = desk.submit(
        "sipho",
        tlp="GREEN",
        human_source=True,
        source_ref="SRC-GP-0042",
        source_description="Shop owner, Twist St",
    )
    own = desk.get("sipho", f"/api/intel/items/{item['id']}").json()
    other = desk.get("thabo", f"/api/intel/items/{item['id']}").json()
    assert own["source_ref"] == "SRC-GP-0042"
    assert own["author_id"] is not None
    assert other["source_ref"] is None
    assert other["author_id"] is None
    assert other["sanitised"] is True


def test_bad_input_is_problem_json(desk: Desk) -> None:
    bad: list[dict[str, Any]] = [
        {"tlp": "PURPLE"},
        {"source_grade": "G"},
        {"information_grade": 7},
        {"handling": "X"},
        {"classification": "cosmic"},
        {"cells": ["not-a-cell"]},
        {"province": None, "municipality": None},
        {"distribution": {"agencies": ["nope"]}, "share_reason": "because reasons"},
        {"distribution": {"agencies": [desk.saps]}},
    ]
    for changes in bad:
        response = desk.client.post("/api/intel/items", json=item_body(**changes), headers=desk.auth["sipho"])
        assert response.status_code == 422, (changes, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        desk.client.post("/api/intel/items", json={"title": "x"}, headers=desk.auth["sipho"]).status_code
        == 422
    )
    assert desk.get("sipho", "/api/intel/items", limit=0).status_code == 422


def test_revoke_hides_everywhere_and_notifies_recipients(desk: Desk) -> None:
    sharing_agreement(desk)
    item = desk.submit(
        "sipho", tlp="AMBER", distribution={"agencies": [desk.saps]}, share_reason="joint op Kubu"
    )
    assert desk.get("thabo", f"/api/intel/items/{item['id']}").status_code == 200
    revoked = desk.client.post(
        f"/api/intel/items/{item['id']}/revoke",
        json={"reason": "source retracted the report"},
        headers=desk.auth["sipho"],
    )
    assert revoked.status_code == 204, revoked.text
    for who in ("sipho", "thabo"):
        assert desk.get(who, f"/api/intel/items/{item['id']}").status_code == 404
        assert item["id"] not in desk.visible(who)
    from khusela.intel.tables import intel_notices

    with desk.platform.db.read() as conn:
        notices = conn.execute(
            select(intel_notices.c.recipient).where(intel_notices.c.item_id == item["id"])
        ).scalars()
        assert set(notices) == {desk.saps, desk.users["thabo"].user_id}


def test_an_analyst_cannot_classify_above_their_clearance(desk: Desk) -> None:
    response = desk.client.post(
        "/api/intel/items", json=item_body(classification="secret"), headers=desk.auth["lerato"]
    )
    assert response.status_code == 422
    assert "clearance" in response.json()["detail"]
