"""The camera registry through the API: registering, need-to-know listing, redacted
credentials, and all-or-nothing CSV import that round-trips an export."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from khusela.bootstrap import Platform
from khusela.cctv.api import CameraOut
from khusela.cctv.cameras import redact
from khusela.cctv.tables import cameras
from khusela.identity.model import AgencyType, Jurisdiction, Role
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW, PRETORIA_CENTRAL

RTSP = "rtsp://viewer:s3cret-pass@10.1.2.3:554/stream1"


def _camera(owner: str, name: str, at: tuple[float, float], **extra: object) -> dict[str, object]:
    return {
        "owner_agency_id": owner,
        "name": name,
        "lat": at[0],
        "lon": at[1],
        "main_stream_url": RTSP,
        **extra,
    }


def test_registered_cameras_are_seen_only_within_jurisdiction(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    tshwane = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    admin = bearer(client, people.user("admin", Role.ADMIN))
    zones = [{"name": "gate", "polygon": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6]]}]
    made = client.post(
        "/api/cctv/cameras", json=_camera(city, "Hillbrow Tower North", HILLBROW, zones=zones), headers=admin
    )
    assert made.status_code == 201, made.text
    camera = made.json()
    assert camera["municipality"] == "JHB"
    assert camera["status"] == "unknown"
    assert "s3cret-pass" not in made.text, "the stream password is never shown"
    assert camera["main_stream_url"] == "rtsp://viewer:***@10.1.2.3:554/stream1"
    client.post("/api/cctv/cameras", json=_camera(city, "Pretoria Station", PRETORIA_CENTRAL), headers=admin)

    joburg_operator = bearer(client, people.user("thandi", Role.OPERATOR, agency_id=city))
    pretoria_operator = bearer(client, people.user("pieter", Role.OPERATOR, agency_id=tshwane))
    seen = client.get("/api/cctv/cameras", headers=joburg_operator).json()
    TypeAdapter(list[CameraOut]).validate_python(seen)  # the fast path still keeps its schema
    assert {c["name"] for c in seen} == {"Hillbrow Tower North", "Pretoria Station"}, (
        "the owner's own cameras"
    )
    theirs = client.get("/api/cctv/cameras", headers=pretoria_operator).json()
    assert [c["name"] for c in theirs] == ["Pretoria Station"], "only cameras in Tshwane"
    assert client.get(f"/api/cctv/cameras/{camera['id']}", headers=pretoria_operator).status_code == 404
    filtered = client.get("/api/cctv/cameras", params={"q": "tower"}, headers=joburg_operator).json()
    assert [c["name"] for c in filtered] == ["Hillbrow Tower North"]
    resident_less = client.post(
        "/api/cctv/cameras", json=_camera(city, "X", HILLBROW), headers=joburg_operator
    )
    assert resident_less.status_code == 403


def test_bad_cameras_are_refused_with_the_reason(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    admin = bearer(client, people.user("admin", Role.ADMIN))
    cases = {
        "ftp scheme": _camera(city, "A", HILLBROW, main_stream_url="ftp://host/stream"),
        "no owner": _camera("nobody", "B", HILLBROW),
        "two-point zone": _camera(city, "C", HILLBROW, zones=[{"name": "z", "polygon": [[0, 0], [1, 1]]}]),
        "zone outside frame": _camera(
            city, "D", HILLBROW, zones=[{"name": "z", "polygon": [[0, 0], [2, 0], [1, 1]]}]
        ),
        "fps": _camera(city, "E", HILLBROW, detect_fps=100),
    }
    for what, body in cases.items():
        answer = client.post("/api/cctv/cameras", json=body, headers=admin)
        assert answer.status_code == 422, what
        assert answer.headers["content-type"].startswith("application/problem+json"), what


def test_csv_import_is_all_or_nothing_and_an_export_imports_back(
    client: TestClient, platform: Platform
) -> None:
    people = People(platform.db)
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    admin = bearer(client, people.user("admin", Role.ADMIN))
    header = "external_ref,name,owner_agency_id,lat,lon,main_stream_url,detect_fps,zones\n"
    zone = '"[{""name"":""road"",""polygon"":[[0,0],[1,0],[1,1]]}]"'
    good = f"JHB-0001,Main Rd North,{city},-26.19,28.05,{RTSP},5,{zone}\n"
    bad = f"JHB-0002,,{city},-26.19,28.05,{RTSP},5,\nJHB-0003,Bree St,{city},abc,28.05,{RTSP},5,\n"
    csv_headers = {**admin, "content-type": "text/csv"}
    refused = client.post("/api/cctv/cameras/import", content=header + good + bad, headers=csv_headers)
    assert refused.status_code == 422
    assert "line 3" in refused.json()["detail"]
    assert "line 4" in refused.json()["detail"]
    assert client.get("/api/cctv/cameras", headers=admin).json() == [], "nothing was imported"

    many = (
        header
        + good
        + "".join(f"JHB-{n:04d},Camera {n},{city},{-26.19 + n / 1e4},28.05,{RTSP},5,\n" for n in range(2, 40))
    )
    done = client.post("/api/cctv/cameras/import", content=many, headers=csv_headers)
    assert done.json() == {"created": 39, "updated": 0}, done.text

    exported = client.get("/api/cctv/cameras.csv", headers=admin)
    assert exported.status_code == 200
    assert "s3cret-pass" not in exported.text
    assert "viewer:***@" in exported.text
    again = client.post(
        "/api/cctv/cameras/import",
        content=exported.text.replace("Camera 7,", "Camera Seven,"),
        headers=csv_headers,
    )
    assert again.json() == {"created": 0, "updated": 39}, again.text
    with platform.db.read() as conn:
        urls = {r.main_stream_url for r in conn.execute(cameras.select())}
    assert urls == {RTSP}, "re-importing a redacted export keeps the stored credentials"
    names = {c["name"] for c in client.get("/api/cctv/cameras", headers=admin).json()}
    assert "Camera Seven" in names
    zones = client.get("/api/cctv/cameras", params={"q": "JHB-0001"}, headers=admin).json()[0]["zones"]
    assert zones == [{"name": "road", "polygon": [[0, 0], [1, 0], [1, 1]]}]


def test_a_csv_that_is_not_a_camera_list_is_refused(client: TestClient, platform: Platform) -> None:
    admin = bearer(client, People(platform.db).user("admin", Role.ADMIN))
    csv_headers = {**admin, "content-type": "text/csv"}
    assert (
        client.post("/api/cctv/cameras/import", content=b"\xff\xfe\x00", headers=csv_headers).status_code
        == 422
    )
    wrong = client.post("/api/cctv/cameras/import", content="foo,bar\n1,2\n", headers=csv_headers)
    assert wrong.status_code == 422
    assert "unknown: bar, foo" in wrong.json()["detail"]


def test_redaction_hides_the_whole_password() -> None:
    assert redact("rtsp://a:p@ss@cam.local:554/x") == "rtsp://a:***@cam.local:554/x"
    assert redact("rtsp://cam.local/x") == "rtsp://cam.local/x"
    assert redact("http://user@cam.local/x") == "http://user@cam.local/x"
    assert redact(None) is None
