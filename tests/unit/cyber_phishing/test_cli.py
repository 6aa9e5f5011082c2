"""`khusela cyber phish`: one JSON line per file; a missing file is an error after the others."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from typer.testing import CliRunner

from khusela.cli import app


def test_phish_prints_json_and_fails_on_missing_file(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["From"] = '"SARS eFiling" <refunds@sars-refund.co>'
    msg["Subject"] = "Refund"
    msg.set_content("Verify your account within 24 hours.")
    eml = tmp_path / "sars.eml"
    eml.write_bytes(msg.as_bytes())
    result = CliRunner().invoke(app, ["cyber", "phish", str(tmp_path / "missing.eml"), str(eml)])
    assert result.exit_code == 1
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["file"] == str(eml)
    assert line["verdict"] == "phishing"
    assert set(line) == {"file", "score", "verdict", "reasons"}
    assert "missing.eml" in result.stderr


def test_phish_exit_zero_when_all_read(tmp_path: Path) -> None:
    eml = tmp_path / "ok.eml"
    eml.write_bytes(b"From: a@b.org\nSubject: hi\n\nhello\n")
    result = CliRunner().invoke(app, ["cyber", "phish", str(eml)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] == "clean"
