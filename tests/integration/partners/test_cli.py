"""`khusela partners report` writes the PDF and CSV; bad input is one line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Role
from khusela.partners import agreements
from khusela.partners.agreements import AgreementSpec, CommitmentSpec
from khusela.partners.model import AgreementType, AreaKind
from khusela.store.database import Database
from khusela.store.migrate import upgrade
from tests.integration.partners.conftest import GP, staff

SYSTEM_NOW = datetime(2026, 8, 1, tzinfo=UTC)


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHUSELA_")}
    env.update({"KHUSELA_DATA_DIR": str(data_dir), "KHUSELA_ENVIRONMENT": "development", "COLUMNS": "200"})
    return subprocess.run(
        [sys.executable, "-m", "khusela", "partners", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_report_command_writes_pdf_and_csv(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'khusela.db'}")
    upgrade(db)
    with db.write() as conn:
        city = directory.create_agency(conn, SYSTEM, "City of Tshwane", AgencyType.MUNICIPALITY, GP).id
        tmpd = directory.create_agency(conn, SYSTEM, "TMPD", AgencyType.METRO_POLICE, GP).id
        actor = staff(city, Role.MUNICIPAL_OFFICIAL)
        spec = AgreementSpec("Tshwane CCTV MoU", AgreementType.MOU, (city, tmpd))
        agreement_id = agreements.create(conn, actor, spec, SYSTEM_NOW)["id"]
        area = agreements.add_area(conn, actor, agreement_id, AreaKind.CCTV_INTEGRATION, "CCTV", "")
        agreements.add_commitment(
            conn,
            actor,
            area["id"],
            CommitmentSpec(
                "Keep cameras online", tmpd, date(2026, 12, 31), "Camera uptime", "cctv.uptime", 0.95
            ),
            SYSTEM_NOW,
        )
    db.dispose()
    done = _run(["report", agreement_id, "--quarter", "2026Q3", "--out", str(tmp_path / "out")], tmp_path)
    assert done.returncode == 0, done.stderr
    stem = tmp_path / "out" / f"agreement-{agreement_id[:8]}-2026Q3"
    assert stem.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
    assert "Keep cameras online" in stem.with_suffix(".csv").read_text()
    assert "no platform figure" in stem.with_suffix(".csv").read_text()

    bad = _run(["report", agreement_id, "--quarter", "2026Q7"], tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0
    assert "2026Q3" in bad.stderr
    unknown = _run(["report", "nope", "--quarter", "2026Q3", "--out", str(tmp_path / "o2")], tmp_path)
    assert unknown.returncode == 1
    assert "no agreement" in unknown.stderr
