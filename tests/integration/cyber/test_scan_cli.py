"""`khusela cyber scan` on real samples of every input kind: EVTX, a JSON rendering, an access log
and an SSH auth log, with SigmaHQ rules (read in place) plus one hand-written sshd rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from khusela.cyber.cli import app
from tests.services import shared_data

SSHD_RULE = """
title: SSH password guessing (test rule)
id: 7c3d1f54-8d0e-4a57-9a57-2f0f6c1f0a11
author: Khusela tests
level: low
logsource: {product: linux, service: sshd}
detection:
  keywords: 'Failed password'
  condition: keywords
"""


def _run(tmp_path: Path, *inputs: str) -> tuple[list[dict[str, object]], str, int]:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "sshd.yml").write_text(SSHD_RULE)
    args = ["scan", *inputs, "--year", "2016", "--rules", str(rules)]
    for folder in (("windows", "builtin", "security"), ("windows", "file", "file_event"), ("web",)):
        args += ["--rules", shared_data("cyber", "sigma-rules", "rules", *folder)]
    result = CliRunner().invoke(app, args)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return lines, result.stderr, result.exit_code


@pytest.mark.slow  # loads ~200 SigmaHQ rules and reads four files: about 5 s
def test_scan_reads_every_input_kind_and_prints_one_detection_per_line(tmp_path: Path) -> None:
    samples = Path(shared_data("cyber", "evtx-attack-samples", "Command and Control"))
    anydesk = next(
        Path(shared_data("cyber", "sigma-regression", "regression_data")).rglob(
            "file_event_win_anydesk_artefact"
        )
    )
    inputs = [
        str(samples / "DE_RDP_Tunnel_5156.evtx"),
        str(samples / "web_attack_and_isp_webshell_localhost_access_log.txt"),
        str(next(anydesk.glob("*.json"))),
        shared_data("cyber", "syslog", "OpenSSH", "OpenSSH_2k.log"),
    ]
    detections, stderr, code = _run(tmp_path, *inputs)
    assert code == 0, stderr
    by_file: dict[str, set[str]] = {}
    for found in detections:
        by_file.setdefault(Path(str(found["file"])).name, set()).add(str(found["title"]))
        assert found["author"]  # DRL 1.1: the rule's author goes with every alert
    assert "Security Eventlog Cleared" in by_file["DE_RDP_Tunnel_5156.evtx"]
    assert (
        "Path Traversal Exploitation Attempts"
        in by_file["web_attack_and_isp_webshell_localhost_access_log.txt"]
    )
    assert by_file[next(anydesk.glob("*.json")).name] == {"Anydesk Temporary Artefact"}
    ssh = [d for d in detections if str(d["file"]).endswith("OpenSSH_2k.log")]
    assert len(ssh) == sum("Failed password" in line for line in Path(inputs[3]).read_text().splitlines())
    first_ssh = ssh[0]
    assert str(first_ssh["time"]).startswith("2016-")
    assert "Failed password" in str(first_ssh["raw"])
    json_hit = next(d for d in detections if str(d["file"]).endswith(".json"))
    assert json_hit["line"]
    assert json_hit["host"] == "ar-win-dc.attackrange.local"
    assert "TargetFilename" in json_hit["fields"]  # type: ignore[operator]
    assert "files 4" in stderr


def test_malformed_json_lines_are_counted_on_stderr(tmp_path: Path) -> None:
    log = tmp_path / "events.ndjson"
    good = {
        "Channel": "Security",
        "EventID": "1102",
        "SourceName": "Microsoft-Windows-Eventlog",
        "Hostname": "dc1",
    }
    log.write_text(json.dumps(good) + "\nnot json\n" + json.dumps(good) + "\n")
    detections, stderr, code = _run(tmp_path, str(log))
    assert code == 0
    assert [d["title"] for d in detections] == ["Security Eventlog Cleared"] * 2
    assert "events 2" in stderr
    assert "malformed 1" in stderr
    assert f"{log}:2: invalid JSON" in stderr


def test_missing_input_is_one_line_error(tmp_path: Path) -> None:
    _, stderr, code = _run(tmp_path, str(tmp_path / "nope.evtx"))
    assert code == 1
    assert "does not exist" in stderr
    assert "Traceback" not in stderr
