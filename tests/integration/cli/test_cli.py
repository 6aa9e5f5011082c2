"""The `khusela` command as an administrator uses it: real processes, real settings."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

KHUSELA = [sys.executable, "-m", "khusela"]


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KHUSELA, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KHUSELA_")}
    clean.update({"KHUSELA_DATA_DIR": str(tmp_path), "KHUSELA_ENVIRONMENT": "development", "COLUMNS": "200"})
    upgraded = run(["db", "upgrade"], clean)
    assert upgraded.returncode == 0, upgraded.stderr
    return clean


def test_db_upgrade_creates_the_database_in_the_data_dir(env: dict[str, str]) -> None:
    assert (Path(env["KHUSELA_DATA_DIR"]) / "khusela.db").exists()
    assert run(["db", "upgrade"], env).returncode == 0


def test_agency_and_user_lifecycle(env: dict[str, str]) -> None:
    created = run(
        [
            "agencies",
            "create",
            "--name",
            "SAPS Hillbrow",
            "--type",
            "saps_station",
            "--cell",
            "87c0f5a2dffffff",
        ],
        env,
    )
    assert created.returncode == 0, created.stderr
    listed = run(["agencies", "list"], env)
    assert "SAPS Hillbrow" in listed.stdout
    assert "1 cells" in listed.stdout
    user = run(
        [
            "users",
            "create",
            "--username",
            "thandi",
            "--role",
            "operator",
            "--agency",
            "SAPS Hillbrow",
            "--clearance",
            "restricted",
        ],
        env,
        stdin="a long enough password\n",
    )
    assert user.returncode == 0, user.stderr
    assert "otpauth://totp/Khusela:thandi" in user.stdout
    resident = run(
        ["users", "create", "--username", "nomsa", "--role", "resident", "--phone", "0825550101"], env
    )
    assert resident.returncode == 0, resident.stderr
    assert "otpauth" not in resident.stdout
    users = run(["users", "list"], env).stdout
    assert "thandi" in users
    assert "nomsa" in users
    assert "restricted" in users
    code = run(["users", "totp", "thandi"], env)
    assert code.returncode == 0
    assert code.stdout.strip().isdigit()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["agencies", "create", "--name", "X", "--type", "army"], "", "Invalid value"),
        (
            ["users", "create", "--username", "x1y", "--role", "operator", "--agency", "Nowhere"],
            "pw-long-enough\n",
            "no agency named",
        ),
        (["users", "create", "--username", "nomsa", "--role", "resident"], "", "phone"),
        (
            ["users", "create", "--username", "abc", "--role", "operator", "--clearance", "cosmic"],
            "",
            "unknown clearance",
        ),
        (["users", "totp", "nobody"], "", "no TOTP"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    env: dict[str, str], args: list[str], stdin: str, message: str
) -> None:
    result = run(args, env, stdin)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_password_on_stdin_is_refused(env: dict[str, str]) -> None:
    run(["agencies", "create", "--name", "PCC", "--type", "provincial_department", "--province", "GP"], env)
    result = run(["users", "create", "--username", "thandi", "--role", "operator", "--agency", "PCC"], env)
    assert result.returncode == 1
    assert "password on stdin" in result.stderr


def test_bad_setting_is_one_line(env: dict[str, str]) -> None:
    result = run(["agencies", "list"], {**env, "KHUSELA_ENVIRONMENT": "production"})
    assert result.returncode == 1
    assert "KHUSELA_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line(env: dict[str, str]) -> None:
    result = run(
        ["agencies", "list"], {**env, "KHUSELA_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: database error")
    assert "Traceback" not in result.stderr


def test_audit_verify_passes_then_names_the_tampered_record(env: dict[str, str]) -> None:
    run(["agencies", "create", "--name", "PCC", "--type", "provincial_department", "--province", "GP"], env)
    run(["agencies", "create", "--name", "JMPD", "--type", "metro_police", "--municipality", "JHB"], env)
    run(["agencies", "create", "--name", "EMS", "--type", "ems", "--province", "GP"], env)
    ok = run(["audit", "verify"], env)
    assert ok.returncode == 0, ok.stderr
    assert "3 records" in ok.stdout
    with sqlite3.connect(Path(env["KHUSELA_DATA_DIR"]) / "khusela.db") as db:
        db.execute("UPDATE audit_log SET details = '{}' WHERE seq = 2")
    broken = run(["audit", "verify"], env)
    assert broken.returncode == 1
    assert "record 2" in broken.stderr


def test_audit_verify_detects_deletion(env: dict[str, str]) -> None:
    for name in ("A1", "A2", "A3"):
        run(["agencies", "create", "--name", name, "--type", "ems", "--province", "GP"], env)
    with sqlite3.connect(Path(env["KHUSELA_DATA_DIR"]) / "khusela.db") as db:
        db.execute("DELETE FROM audit_log WHERE seq = 1")
    broken = run(["audit", "verify"], env)
    assert broken.returncode == 1
    assert "record 1" in broken.stderr


def test_demo_refuses_production(env: dict[str, str]) -> None:
    result = run(["demo"], {**env, "KHUSELA_ENVIRONMENT": "production", "KHUSELA_SECRET_KEY": "x" * 40})
    assert result.returncode == 1
    assert "refuses" in result.stderr
