"""An active CCTV-integration agreement lets a command centre see a partner's cameras in
the registry; a draft one, or none, does not."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.partners import agreements
from khusela.partners.agreements import AgreementSpec
from khusela.partners.model import AgreementStatus, AgreementType, AreaKind
from tests.conftest import People, bearer
from tests.integration.partners.conftest import staff
from tests.panic_support import PRETORIA_CENTRAL


def test_a_cctv_agreement_opens_the_partners_cameras_to_the_command_centre(
    client: TestClient, platform: Platform
) -> None:
    people = People(platform.db)
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    tshwane = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    admin = bearer(client, people.user("admin", Role.ADMIN))
    made = client.post(
        "/api/cctv/cameras",
        json={
            "owner_agency_id": tshwane,
            "name": "Church Square",
            "lat": PRETORIA_CENTRAL[0],
            "lon": PRETORIA_CENTRAL[1],
            "main_stream_url": "rtsp://10.9.8.7/stream1",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    camera_id = made.json()["id"]
    operator = bearer(client, people.user("thandi", Role.OPERATOR, agency_id=city))

    def names() -> list[str]:
        return [c["name"] for c in client.get("/api/cctv/cameras", headers=operator).json()]

    assert names() == [], "another municipality's camera, and no agreement"
    assert client.get(f"/api/cctv/cameras/{camera_id}", headers=operator).status_code == 404

    official = staff(city, Role.MUNICIPAL_OFFICIAL, name="mayoral-office")
    spec = AgreementSpec(
        title="Gauteng metros CCTV sharing",
        type=AgreementType.COOPERATION,
        party_ids=(city, tshwane),
        status=AgreementStatus.DRAFT,
        signed_on=date(2026, 3, 1),
        province="GP",
    )
    now = datetime.now(UTC)
    with platform.db.write() as conn:
        agreement = agreements.create(conn, official, spec, now)
        agreements.add_area(conn, official, agreement["id"], AreaKind.CCTV_INTEGRATION, "CCTV", "")
    assert names() == [], "a draft agreement grants nothing"

    with platform.db.write() as conn:
        agreements.set_status(conn, official, agreement["id"], AgreementStatus.ACTIVE, None, now)
    assert names() == ["Church Square"]
    assert client.get(f"/api/cctv/cameras/{camera_id}", headers=operator).status_code == 200
