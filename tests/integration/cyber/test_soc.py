"""The SOC end to end on a running app: syslog over a real socket and JSON lines over HTTP
become aggregated alerts; analysts except, group into cases, and approve response actions
that land in the enforcement files; staff report e-mails."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Settings
from khusela.identity.model import Role
from khusela.store.database import Database
from tests.conftest import People, bearer

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cyber"
OPENSSH = DATA / "syslog" / "OpenSSH" / "OpenSSH_2k.log"
BITSADMIN_CASE = DATA / "sigma-regression/regression_data/rules/windows/process_creation"
BITSADMIN_RULE = DATA / "sigma-rules/rules/windows/process_creation/proc_creation_win_bitsadmin_download.yml"
PHISH = DATA / "phishing" / "phish"


@pytest.fixture
def soc(tmp_path: Path, sqlite_db: Database) -> Iterator[tuple[TestClient, Platform]]:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        rate_limit_per_minute=100_000,
        cyber_syslog_port=0,
        cyber_syslog_host="127.0.0.1",
        cyber_rules=[BITSADMIN_RULE],
        cyber_auto_respond=["port_scan"],
        cyber_protected=["gov.za", "10.0.0.0/8"],
    )
    platform = bootstrap(settings, db=sqlite_db, bus=InProcessBus())
    with TestClient(create_app(platform)) as client:
        yield client, platform


def _wait(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _analysts(client: TestClient, people: People) -> tuple[dict[str, str], dict[str, str]]:
    return (
        bearer(client, people.user("lerato", Role.SOC_ANALYST)),
        bearer(client, people.user("sipho", Role.SOC_ANALYST)),
    )


def _ready(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    status: dict[str, Any] = _wait(
        lambda: (s := client.get("/api/cyber/status", headers=headers).json()).get("ready") and s
    )
    return status


def test_ssh_brute_force_over_a_real_syslog_socket_becomes_few_aggregated_alerts(
    soc: tuple[TestClient, Platform],
) -> None:
    client, platform = soc
    people = People(platform.db)
    analyst, _ = _analysts(client, people)
    status = _ready(client, analyst)
    lines = OPENSSH.read_bytes().splitlines()
    with socket.create_connection(("127.0.0.1", status["syslog_tcp_port"])) as conn:
        conn.sendall(b"".join(b"<38>" + line + b"\n" for line in lines))
        conn.sendall(b"\x00\xff not syslog at all\n")

    def brute_force() -> list[dict[str, Any]]:
        found = client.get("/api/cyber/alerts", params={"kind": "correlation"}, headers=analyst).json()
        return [a for a in found if a["rule_id"] == "khusela-correlation:brute_force"]

    alerts = _wait(brute_force)
    time.sleep(0.5)  # let the tail of the log fold in
    alerts = brute_force()
    sources = [a["source"] for a in alerts]
    assert "183.62.140.253" in sources, "the source with 580 attempts in the sample"
    assert len(sources) <= 2 * len(set(sources)), "repeats fold into the open alert, not a flood"
    worst_alerts = [a for a in alerts if a["source"] == "183.62.140.253"]
    assert sum(a["count"] for a in worst_alerts) == 286, "every failed password from it is counted"
    worst = worst_alerts[0]
    assert worst["author"] == "Khusela correlation"
    assert "attack.t1110.001" in worst["tags"]
    detail = client.get(f"/api/cyber/alerts/{worst['id']}", headers=analyst).json()
    assert detail["events"], "the matching events are kept"
    assert "183.62.140.253" in detail["events"][0]["raw"], "each in its raw form"
    status = client.get("/api/cyber/status", headers=analyst).json()
    assert status["received"] >= 2000
    assert status["latency_p95_s"] is not None
    assert status["latency_p95_s"] < 2.0, "95% of alerts within 2 s of arrival"


def test_json_lines_over_http_run_real_sigma_rules_and_bad_lines_are_reported(
    soc: tuple[TestClient, Platform],
) -> None:
    client, platform = soc
    people = People(platform.db)
    analyst, _ = _analysts(client, people)
    _ready(client, analyst)
    case = BITSADMIN_CASE / "proc_creation_win_bitsadmin_download"
    event = json.loads(next(case.glob("*.json")).read_text())
    body = "\n".join([json.dumps(event), "{not json", "[1, 2]", json.dumps(event)]) + "\n"
    answer = client.post(
        "/api/cyber/ingest", content=body, headers=analyst | {"Content-Type": "application/x-ndjson"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 2
    assert [p["line"] for p in answer.json()["problems"]] == [2, 3]

    def sigma_alerts() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = client.get(
            "/api/cyber/alerts", params={"kind": "sigma"}, headers=analyst
        ).json()
        return found

    alerts = _wait(sigma_alerts)
    assert alerts[0]["title"] == "File Download Via Bitsadmin"
    assert alerts[0]["author"], "every alert from a SigmaHQ rule names the rule's author"
    assert sum(a["count"] for a in sigma_alerts()) == 2
    assert len(sigma_alerts()) == 1, "the repeat folded into the first alert"

    shipper_less = bearer(client, people.user("thandi", Role.OPERATOR))
    refused = client.post("/api/cyber/ingest", content=body, headers=shipper_less)
    assert refused.status_code == 403
    assert client.get("/api/cyber/alerts", headers=shipper_less).status_code == 403
    empty = client.post("/api/cyber/ingest", content=b"\n\n", headers=analyst)
    assert empty.status_code == 422
    assert empty.headers["content-type"].startswith("application/problem+json")


def _windows_logons(source: str, count: int, user: str = "administrator") -> str:
    lines = []
    for i in range(count):
        lines.append(
            json.dumps(
                {
                    "Channel": "Security",
                    "EventID": 4625,
                    "Computer": "dc01.gauteng.local",
                    "TimeCreated": f"2026-11-22T10:00:{i:02d}Z",
                    "IpAddress": source,
                    "TargetUserName": user,
                }
            )
        )
    return "\n".join(lines)


def test_false_positive_with_a_scoped_exception_silences_one_source_only(
    soc: tuple[TestClient, Platform],
) -> None:
    client, platform = soc
    people = People(platform.db)
    analyst, _ = _analysts(client, people)
    _ready(client, analyst)
    client.post("/api/cyber/ingest", content=_windows_logons("192.0.2.10", 8), headers=analyst)
    first = _wait(
        lambda: client.get("/api/cyber/alerts", params={"source": "192.0.2.10"}, headers=analyst).json()
    )
    everywhere = client.post(
        "/api/cyber/exceptions",
        json={"rule_id": first[0]["rule_id"], "reason": "noisy rule"},
        headers=analyst,
    )
    assert everywhere.status_code == 422, "silencing a rule everywhere is refused"
    marked = client.post(
        f"/api/cyber/alerts/{first[0]['id']}/status",
        json={
            "status": "false_positive",
            "exception": {"scope": "source", "reason": "vulnerability scanner"},
        },
        headers=analyst,
    )
    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "false_positive"

    client.post("/api/cyber/ingest", content=_windows_logons("192.0.2.10", 8), headers=analyst)
    client.post("/api/cyber/ingest", content=_windows_logons("198.51.100.7", 8), headers=analyst)
    _wait(lambda: client.get("/api/cyber/alerts", params={"source": "198.51.100.7"}, headers=analyst).json())
    exceptions = _wait(
        lambda: [e for e in client.get("/api/cyber/exceptions", headers=analyst).json() if e["hits"] > 0]
    )
    assert exceptions[0]["source"] == "192.0.2.10/32"
    again = client.get("/api/cyber/alerts", params={"source": "192.0.2.10"}, headers=analyst).json()
    assert [a["status"] for a in again] == ["false_positive"], "the excepted source raised nothing new"


def test_a_case_groups_alerts_and_tells_its_story(soc: tuple[TestClient, Platform]) -> None:
    client, platform = soc
    people = People(platform.db)
    analyst, _ = _analysts(client, people)
    _ready(client, analyst)
    client.post("/api/cyber/ingest", content=_windows_logons("203.0.113.5", 6), headers=analyst)
    alert = _wait(
        lambda: client.get("/api/cyber/alerts", params={"source": "203.0.113.5"}, headers=analyst).json()
    )[0]
    opened = client.post(
        "/api/cyber/cases",
        json={
            "title": "Password guessing on DC01",
            "severity": "high",
            "alert_ids": [alert["id"]],
            "assignee": "lerato",
        },
        headers=analyst,
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case"]["id"]
    client.post(
        f"/api/cyber/cases/{case_id}/notes", json={"text": "Source is a known VPS range"}, headers=analyst
    )
    changed = client.patch(f"/api/cyber/cases/{case_id}", json={"status": "contained"}, headers=analyst)
    view = changed.json()
    kinds = [entry["kind"] for entry in view["timeline"]]
    assert {"opened", "assigned", "alert_added", "note", "status", "event"} <= set(kinds)
    assert view["case"]["status"] == "contained"
    assert any("203.0.113.5" in (entry.get("raw") or "") for entry in view["timeline"]), "raw events shown"
    elsewhere = client.post(
        "/api/cyber/cases", json={"title": "Other", "alert_ids": [alert["id"]]}, headers=analyst
    )
    assert elsewhere.status_code == 409, "an alert belongs to one case"
    assert client.get("/api/cyber/cases/nope", headers=analyst).status_code == 404


def test_response_actions_need_a_second_analyst_and_reach_the_files(soc: tuple[TestClient, Platform]) -> None:
    client, platform = soc
    people = People(platform.db)
    lerato, sipho = _analysts(client, people)
    _ready(client, lerato)
    files = platform.settings.data_dir / "cyber-response"
    proposed = client.post(
        "/api/cyber/actions",
        json={
            "kind": "block_ip",
            "target": "203.0.113.66",
            "reason": "brute force on the VPN",
            "duration_hours": 2,
        },
        headers=lerato,
    )
    assert proposed.status_code == 201, proposed.text
    action = proposed.json()
    assert action["status"] == "proposed"
    own = client.post(f"/api/cyber/actions/{action['id']}/approve", headers=lerato)
    assert own.status_code == 403, "the proposer cannot approve their own action"
    approved = client.post(f"/api/cyber/actions/{action['id']}/approve", headers=sipho)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["expires_at"] is not None, "actions expire by default"
    _wait(lambda: "203.0.113.66" in (files / "khusela-blocklist.txt").read_text())
    assert "203.0.113.66" in (files / "khusela-blocklist.nft").read_text()

    reverted = client.post(f"/api/cyber/actions/{action['id']}/revert", headers=lerato)
    assert reverted.json()["status"] == "reverted"
    _wait(lambda: "203.0.113.66" not in (files / "khusela-blocklist.txt").read_text())

    for target, kind in (
        ("10.2.3.4", "block_ip"),
        ("www.gauteng.gov.za", "block_domain"),
        ("0.0.0.0/0", "block_ip"),
    ):
        refused = client.post(
            "/api/cyber/actions", json={"kind": kind, "target": target, "reason": "test"}, headers=lerato
        )
        assert refused.status_code == 422, (target, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    domain = client.post(
        "/api/cyber/actions",
        json={"kind": "block_domain", "target": "sars-refund-gov.co.za", "reason": "phishing kit"},
        headers=lerato,
    ).json()
    client.post(f"/api/cyber/actions/{domain['id']}/approve", headers=sipho)
    _wait(lambda: "sars-refund-gov.co.za" in (files / "khusela.rpz.zone").read_text())
    trail = client.get("/api/audit", headers=bearer(client, people.user("ruth", Role.ADMIN)))
    assert trail.status_code == 200


def test_automatic_response_blocks_a_port_scanner_at_once(soc: tuple[TestClient, Platform]) -> None:
    client, platform = soc
    people = People(platform.db)
    analyst, _ = _analysts(client, people)
    status = _ready(client, analyst)
    lines = [
        f"<4>Nov 22 10:00:{i % 60:02d} fw01 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.99 DST=192.0.2.1 "
        f"PROTO=TCP SPT=40000 DPT={20 + i}".encode()
        for i in range(30)
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for line in lines:
            udp.sendto(line, ("127.0.0.1", status["syslog_udp_port"]))
    actions = _wait(
        lambda: [
            a
            for a in client.get("/api/cyber/actions", params={"status": "active"}, headers=analyst).json()
            if a["target"] == "198.51.100.99/32"
        ]
    )
    assert actions[0]["automatic"] is True
    assert actions[0]["expires_at"] is not None


def test_staff_report_phishing_and_analysts_correct_the_verdict(soc: tuple[TestClient, Platform]) -> None:
    client, platform = soc
    people = People(platform.db)
    analyst, _ = _analysts(client, people)
    clerk = bearer(client, people.user("nomsa", Role.MUNICIPAL_OFFICIAL))
    sample = sorted(PHISH.glob("*.eml"))[0].read_bytes()
    reported = client.post(
        "/api/cyber/phishing/reports", content=sample, headers=clerk | {"Content-Type": "message/rfc822"}
    )
    assert reported.status_code == 201, reported.text
    verdict = reported.json()
    assert verdict["verdict"] in ("phishing", "suspicious", "clean")
    assert verdict["reasons"] is not None
    if verdict["verdict"] != "clean":
        assert verdict["alert_id"], "a flagged report lands in the SOC queue"
    garbage = client.post("/api/cyber/phishing/reports", content=b"   ", headers=clerk)
    assert garbage.status_code == 422
    assert client.get("/api/cyber/phishing/reports", headers=clerk).status_code == 403
    corrected = client.post(
        f"/api/cyber/phishing/reports/{verdict['id']}/verdict", json={"verdict": "phishing"}, headers=analyst
    )
    assert corrected.status_code == 200, corrected.text
    accuracy = client.get("/api/cyber/phishing/accuracy", headers=analyst).json()
    assert accuracy["reviewed"] == 1
    assert accuracy["recall"] == (1.0 if verdict["verdict"] != "clean" else 0.0)
