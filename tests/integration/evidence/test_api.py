"""The evidence API: agency-scoped cases, uploads, verified downloads recorded in custody."""

from __future__ import annotations

import hashlib
import os

from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.evidence.storage import local_store
from khusela.identity.model import AgencyType, Jurisdiction, Role
from tests.conftest import People, bearer

CLIP = b"\x00\x00\x00\x18ftypmp42" + os.urandom(10_000)


def setup(client: TestClient, people: People) -> tuple[dict[str, str], str]:
    operator = people.user("thandi", Role.OPERATOR)
    auth = bearer(client, operator)
    created = client.post(
        "/api/evidence/cases", json={"case_number": "CAS 77/11/2026", "title": "Robbery"}, headers=auth
    )
    assert created.status_code == 201, created.text
    return auth, created.json()["id"]


def upload(client: TestClient, auth: dict[str, str], case_id: str, data: bytes = CLIP) -> dict[str, object]:
    response = client.post(
        f"/api/evidence/cases/{case_id}/items",
        files={"file": ("clip.mp4", data, "video/mp4")},
        data={
            "kind": "clip",
            "captured_at": "2026-11-20T21:04:00+02:00",
            "source": '{"camera_id": "cam-17"}',
        },
        headers=auth,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_upload_list_download_and_custody(client: TestClient, people: People) -> None:
    auth, case_id = setup(client, people)
    item = upload(client, auth, case_id)
    assert item["sha256"] == hashlib.sha256(CLIP).hexdigest()
    assert item["source"] == {"camera_id": "cam-17"}
    listed = client.get(f"/api/evidence/cases/{case_id}/items", headers=auth).json()
    assert [i["id"] for i in listed] == [item["id"]]
    download = client.get(f"/api/evidence/cases/{case_id}/items/{item['id']}/content", headers=auth)
    assert download.status_code == 200
    assert download.content == CLIP
    assert download.headers["content-type"] == "video/mp4"
    log = client.get(f"/api/evidence/cases/{case_id}/custody", headers=auth).json()
    assert log["ok"] is True
    assert [(e["action"], e["actor"]) for e in log["entries"]] == [
        ("created", "thandi"),
        ("added", "thandi"),
        ("viewed", "thandi"),
    ]


def test_another_agency_cannot_see_the_case(client: TestClient, people: People) -> None:
    auth, case_id = setup(client, people)
    item = upload(client, auth, case_id)
    elsewhere = people.agency(
        "SAPS Durban", AgencyType.SAPS_STATION, Jurisdiction(provinces=frozenset({"KZN"}))
    )
    stranger = bearer(client, people.user("ayanda", Role.OPERATOR, agency_id=elsewhere))
    assert client.get("/api/evidence/cases", headers=stranger).json() == []
    for path in ("", "/items", "/custody", f"/items/{item['id']}/content"):
        response = client.get(f"/api/evidence/cases/{case_id}{path}", headers=stranger)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    response = client.post(
        f"/api/evidence/cases/{case_id}/items",
        files={"file": ("x.jpg", b"x", "image/jpeg")},
        headers=stranger,
    )
    assert response.status_code == 404
    assert (
        client.put(
            f"/api/evidence/cases/{case_id}/legal-hold", json={"hold": True}, headers=stranger
        ).status_code
        == 404
    )
    log = client.get(f"/api/evidence/cases/{case_id}/custody", headers=auth).json()
    assert [e["action"] for e in log["entries"]] == ["created", "added"]  # no view was recorded


def test_oversight_reads_every_case_but_cannot_add(client: TestClient, people: People) -> None:
    auth, case_id = setup(client, people)
    upload(client, auth, case_id)
    watchdog = people.agency("IPID", AgencyType.PROVINCIAL_DEPARTMENT)
    oversight = bearer(client, people.user("naledi", Role.OVERSIGHT, agency_id=watchdog))
    assert [c["id"] for c in client.get("/api/evidence/cases", headers=oversight).json()] == [case_id]
    response = client.post(
        f"/api/evidence/cases/{case_id}/items",
        files={"file": ("x.jpg", b"x", "image/jpeg")},
        headers=oversight,
    )
    assert response.status_code == 403


def test_legal_hold_is_set_and_cleared(client: TestClient, people: People) -> None:
    auth, case_id = setup(client, people)
    held = client.put(
        f"/api/evidence/cases/{case_id}/legal-hold",
        json={"hold": True, "reason": "court order"},
        headers=auth,
    )
    assert held.json()["legal_hold"] is True
    cleared = client.put(f"/api/evidence/cases/{case_id}/legal-hold", json={"hold": False}, headers=auth)
    assert cleared.json()["legal_hold"] is False
    log = client.get(f"/api/evidence/cases/{case_id}/custody", headers=auth).json()
    assert [e["action"] for e in log["entries"]] == ["created", "legal_hold", "legal_hold"]


def test_bad_input_is_a_clear_problem(client: TestClient, people: People) -> None:
    auth, case_id = setup(client, people)
    bad_number = client.post(
        "/api/evidence/cases", json={"case_number": "OB 5/2026", "title": "x"}, headers=auth
    )
    assert bad_number.status_code == 422
    assert "CAS 123/11/2026" in bad_number.json()["detail"]
    duplicate = client.post(
        "/api/evidence/cases", json={"case_number": "CAS 77/11/2026", "title": "x"}, headers=auth
    )
    assert duplicate.status_code == 409
    bad_source = client.post(
        f"/api/evidence/cases/{case_id}/items",
        files={"file": ("a.jpg", b"abc", "image/jpeg")},
        data={"source": "[1, 2"},
        headers=auth,
    )
    assert bad_source.status_code == 422
    assert "[1, 2" not in bad_source.text
    bad_kind = client.post(
        f"/api/evidence/cases/{case_id}/items",
        files={"file": ("a.jpg", b"abc", "image/jpeg")},
        data={"kind": "rumour"},
        headers=auth,
    )
    assert bad_kind.status_code == 422
    responder = bearer(client, people.user("bongani", Role.RESPONDER))
    assert client.get("/api/evidence/cases", headers=responder).status_code == 403


def test_a_tampered_file_is_not_served(client: TestClient, people: People, platform: Platform) -> None:
    auth, case_id = setup(client, people)
    item = upload(client, auth, case_id)
    path = local_store(platform.settings.data_dir).path_of(str(item["sha256"]))
    os.chmod(path, 0o644)
    path.write_bytes(CLIP[:-1] + b"!")
    response = client.get(f"/api/evidence/cases/{case_id}/items/{item['id']}/content", headers=auth)
    assert response.status_code == 409
    assert "altered" in response.json()["detail"]


def test_a_clip_larger_than_the_usual_body_limit_is_accepted(client: TestClient, people: People) -> None:
    """Other routes stop at 1 MiB; an evidence upload may be a long clip."""
    auth, case_id = setup(client, people)
    big = CLIP + os.urandom(3 * 1024 * 1024)
    item = upload(client, auth, case_id, big)
    assert item["sha256"] == hashlib.sha256(big).hexdigest()
    refused = client.post("/api/evidence/cases", content=b"x" * (2 * 1024 * 1024), headers=auth)
    assert refused.status_code == 413
