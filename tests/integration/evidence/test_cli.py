"""`khusela evidence …` as an administrator runs it: real processes, real data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

KHUSELA = [sys.executable, "-m", "khusela"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KHUSELA, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KHUSELA_")}
    clean.update(
        {"KHUSELA_DATA_DIR": str(tmp_path / "data"), "KHUSELA_ENVIRONMENT": "development", "COLUMNS": "200"}
    )
    for args in (
        ["db", "upgrade"],
        ["agencies", "create", "--name", "SAPS Hillbrow", "--type", "saps_station"],
    ):
        done = run(args, clean)
        assert done.returncode == 0, done.stderr
    return clean


def test_create_add_export_verify_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    created = run(
        ["evidence", "create", "CAS 5/11/2026", "--title", "Hijacking", "--agency", "SAPS Hillbrow"], env
    )
    assert created.returncode == 0, created.stderr
    clip = tmp_path / "cam17.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    added = run(
        ["evidence", "add", "CAS 5/11/2026", str(clip), "--kind", "clip", "--source", '{"camera_id": "17"}'],
        env,
    )
    assert added.returncode == 0, added.stderr
    assert "CAS 5/11/2026" in run(["evidence", "cases"], env).stdout
    assert run(["evidence", "custody", "CAS 5/11/2026"], env).returncode == 0

    exported = run(["evidence", "export", "CAS 5/11/2026", "--out", str(tmp_path / "out")], env)
    assert exported.returncode == 0, exported.stderr
    package = next((tmp_path / "out").iterdir())
    verified = run(["evidence", "verify", str(package)], env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip().startswith("OK: 1 items and 3 custody entries")
    assert len(verified.stdout.strip().splitlines()) == 1

    # Another instance cannot verify without this one's public key; with it, it can.
    other = {**env, "KHUSELA_DATA_DIR": str(tmp_path / "elsewhere")}
    refused = run(["evidence", "verify", str(package)], other)
    assert refused.returncode == 1
    assert "--public-key" in refused.stderr
    pem = tmp_path / "hillbrow.pem"
    pem.write_text(run(["evidence", "public-key"], env).stdout)
    assert run(["evidence", "verify", str(package), "--public-key", str(pem)], other).returncode == 0

    manifest = json.loads((package / "manifest.json").read_text())
    manifest["items"][0]["original_name"] = "other.mp4"
    (package / "manifest.json").write_text(json.dumps(manifest))
    failed = run(["evidence", "verify", str(package)], env)
    assert failed.returncode == 1
    assert "manifest.json changed after signing" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


def test_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    for args in (
        ["evidence", "create", "123/2026", "--title", "x", "--agency", "SAPS Hillbrow"],
        ["evidence", "export", "CAS 1/1/2026"],
        ["evidence", "verify", str(tmp_path / "nothing")],
    ):
        done = run(args, env)
        assert done.returncode == 1, args
        assert done.stderr.startswith("error:"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
