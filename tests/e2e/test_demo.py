"""`khusela demo` end to end: it seeds once, serves, and a demo operator signs in with TOTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHUSELA_")}
    env.update({"KHUSELA_DATA_DIR": str(data_dir), "COLUMNS": "250"})
    return env


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    port = _free_port()
    env = _env(tmp_path)
    log = tmp_path / "demo.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "khusela", "demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
            assert proc.poll() is None, log.read_text()
        else:
            pytest.fail(f"demo did not start: {log.read_text()}")
        yield base, env, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_demo_operator_signs_in_with_totp_and_reads_me(demo: tuple[str, dict[str, str], Path]) -> None:
    base, env, log = demo
    printed = log.read_text()
    assert "Demo logins" in printed
    assert "operator" in printed
    assert "khusela-demo-2026" in printed
    code = subprocess.run(
        [sys.executable, "-m", "khusela", "users", "totp", "operator"],
        env={**env, "KHUSELA_ENVIRONMENT": "demo"},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    no_totp = httpx.post(
        f"{base}/api/auth/login", json={"username": "operator", "password": "khusela-demo-2026"}
    )
    assert no_totp.status_code == 401
    login = httpx.post(
        f"{base}/api/auth/login", json={"username": "operator", "password": "khusela-demo-2026", "totp": code}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = httpx.get(f"{base}/api/me", headers=headers).json()
    assert me["agency"]["name"] == "Gauteng Provincial Command Centre"
    assert me["agency"]["type"] == "provincial_department"
    agencies = httpx.get(f"{base}/api/agencies", headers=headers).json()
    names = {a["name"] for a in agencies}
    assert {
        "SAPS Hillbrow",
        "Johannesburg Metropolitan Police Department",
        "City of Tshwane Metropolitan Municipality",
    } <= names
    units = httpx.get(f"{base}/api/panic/units", headers=headers).json()
    assert len(units) > 200
    queue = httpx.get(f"{base}/api/panic/alerts?status=open", headers=headers).json()
    assert len(queue) == 4
    assert queue[0]["priority"] == 1, "the silent GBV alert leads the queue"
    assert httpx.get(f"{base}/", timeout=5).status_code == 200


def test_demo_reuses_its_data_on_a_second_run(tmp_path: Path) -> None:
    env = _env(tmp_path)
    seed_only = "import khusela.server as s; s.run = lambda *a, **k: None; s.run_demo('127.0.0.1', 1)"
    first = subprocess.run(
        [sys.executable, "-c", seed_only], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    second = subprocess.run(
        [sys.executable, "-c", seed_only], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert "seeded new" in first.stdout
    assert "reusing" in second.stdout
