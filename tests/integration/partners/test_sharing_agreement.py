"""An information-sharing agreement decides whether an agency may name another as a recipient
of restricted intelligence (TLP:AMBER and narrower): with none, or only a draft, the share is
refused with the agencies it lacks; under an active one the recipient's analyst reads the
item; once the agreement ends, new shares are refused again. GREEN needs no agreement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Role
from tests.conftest import People, bearer
from tests.integration.intel.conftest import item_body

GP = Jurisdiction(provinces=frozenset({"GP"}))
REASON = "joint operation Kubu on the Riverlea syndicate"


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _refused(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Intelligence handling rule"
    return str(problem["detail"])


def test_restricted_intel_reaches_another_agency_only_under_an_active_sharing_agreement(
    client: TestClient, platform: Platform
) -> None:
    people = People(platform.db)
    ssa = people.agency("State Security Agency — Gauteng", AgencyType.SSA, GP)
    saps = people.agency("SAPS Crime Intelligence JHB", AgencyType.SAPS_STATION, GP)
    analyst, cleared = Role.INTEL_ANALYST, Clearance.SECRET
    sipho = bearer(client, people.user("sipho", analyst, agency_id=ssa, clearance=cleared))
    lerato = people.user("lerato", analyst, agency_id=ssa, clearance=cleared)
    thabo_person = people.user("thabo", analyst, agency_id=saps, clearance=cleared)
    thabo = bearer(client, thabo_person)
    liaison = bearer(client, people.user("ssa-liaison", Role.MUNICIPAL_OFFICIAL, agency_id=ssa))

    def submit(**changes: Any) -> dict[str, Any]:
        return _ok(client.post("/api/intel/items", json=item_body(**changes), headers=sipho), 201)

    def share(item_id: str, **to: list[str]) -> Any:
        return client.post(f"/api/intel/items/{item_id}/shares", json={**to, "reason": REASON}, headers=sipho)

    amber = submit(tlp="AMBER")
    red = submit(tlp="RED")

    # No agreement: SAPS cannot be named, nor can one of its analysts; the refusal says why.
    detail = _refused(share(amber["id"], agencies=[saps]))
    assert "information-sharing agreement" in detail
    assert "SAPS Crime Intelligence JHB" in detail
    assert "SAPS Crime Intelligence JHB" in _refused(share(red["id"], users=[thabo_person.principal.user_id]))
    refused_at_submit = client.post(
        "/api/intel/items",
        json=item_body(tlp="AMBER+STRICT", distribution={"agencies": [saps]}, share_reason=REASON),
        headers=sipho,
    )
    assert "SAPS Crime Intelligence JHB" in _refused(refused_at_submit)
    assert client.get(f"/api/intel/items/{amber['id']}", headers=thabo).status_code == 404
    # Neither GREEN nor a colleague of the originator's own agency needs an agreement.
    _ok(share(submit(tlp="GREEN")["id"], agencies=[saps]))
    _ok(share(red["id"], users=[lerato.principal.user_id]))

    signed = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    agreement = _ok(
        client.post(
            "/api/partners/agreements",
            json={
                "title": "Gauteng intelligence coordinating protocol",
                "type": "mou",
                "party_ids": [ssa, saps],
                "signed_on": signed,
                "province": "GP",
            },
            headers=liaison,
        ),
        201,
    )
    area = {"kind": "information_sharing", "title": "Intelligence on illegal mining"}
    _ok(client.post(f"/api/partners/agreements/{agreement['id']}/areas", json=area, headers=liaison), 201)
    assert "SAPS" in _refused(share(amber["id"], agencies=[saps])), "a draft agreement grants nothing"

    status = f"/api/partners/agreements/{agreement['id']}/status"
    _ok(client.post(status, json={"status": "active"}, headers=liaison))
    shared = _ok(share(amber["id"], agencies=[saps]))
    assert saps in shared["distribution"]["agencies"]
    _ok(share(red["id"], users=[thabo_person.principal.user_id]))
    for item in (amber, red):
        read = client.get(f"/api/intel/items/{item['id']}", headers=thabo)
        assert read.status_code == 200, read.text
        assert read.json()["title"] == item["title"]

    _ok(client.post(status, json={"status": "terminated"}, headers=liaison))
    later = submit(tlp="AMBER", title="Buyer's bakkie seen again at the Riverlea dumps")
    assert "SAPS Crime Intelligence JHB" in _refused(share(later["id"], agencies=[saps]))
    assert client.get(f"/api/intel/items/{later['id']}", headers=thabo).status_code == 404
    # What was shared under the agreement stays shared: revoking it is the originator's call.
    assert client.get(f"/api/intel/items/{amber['id']}", headers=thabo).status_code == 200
