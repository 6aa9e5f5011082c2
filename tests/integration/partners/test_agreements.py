"""Agreements on both backends: create with areas and commitments, report progress, see the
dashboard, build the quarterly report with platform figures, and answer rules elsewhere."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from khusela.audit.tables import audit_log
from khusela.core.errors import Forbidden, InvalidInput
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Role
from khusela.intel.markings import Marking, Tlp
from khusela.partners import agreements, operations, reports, rules
from khusela.partners.agreements import AgreementSpec, CommitmentSpec
from khusela.partners.model import (
    AgreementStatus,
    AgreementType,
    AreaKind,
    CommitmentStatus,
    Direction,
    OutcomeKind,
    Quarter,
)
from khusela.partners.operations import OperationPlan
from khusela.store.database import Database
from tests.integration.partners.conftest import GP, staff

NOW = datetime(2026, 8, 20, 10, tzinfo=UTC)
Q3 = Quarter.parse("2026Q3")


@pytest.fixture
def parties(database: Database) -> dict[str, str]:
    with database.write() as conn:
        return {
            key: directory.create_agency(conn, SYSTEM, name, kind, GP).id
            for key, name, kind in [
                ("city", "City of Johannesburg", AgencyType.MUNICIPALITY),
                ("jmpd", "JMPD", AgencyType.METRO_POLICE),
                ("saps", "SAPS Hillbrow", AgencyType.SAPS_STATION),
                ("other", "Tshwane Metro Police", AgencyType.METRO_POLICE),
            ]
        }


def _agreement(
    database: Database, parties: dict[str, str], status: AgreementStatus = AgreementStatus.ACTIVE
) -> tuple[str, str, str]:
    actor = staff(parties["city"], Role.MUNICIPAL_OFFICIAL, name="mayoral-office")
    spec = AgreementSpec(
        title="Johannesburg inner-city safety cooperation",
        type=AgreementType.COOPERATION,
        party_ids=(parties["city"], parties["jmpd"], parties["saps"]),
        status=status,
        signed_on=date(2026, 3, 1),
        province="GP",
    )
    with database.write() as conn:
        agreement = agreements.create(conn, actor, spec, NOW)
        cctv = agreements.add_area(
            conn, actor, agreement["id"], AreaKind.CCTV_INTEGRATION, "CCTV integration", ""
        )
        ops = agreements.add_area(
            conn, actor, agreement["id"], AreaKind.JOINT_OPERATIONS, "Joint operations", ""
        )
        agreements.add_commitment(
            conn,
            actor,
            ops["id"],
            CommitmentSpec(
                what="Joint operations against illegal mining",
                responsible_agency_id=parties["saps"],
                due_on=date(2026, 12, 31),
                indicator="Arrests in joint operations",
                source="operations.arrests",
                target=10,
            ),
            NOW,
        )
        late = agreements.add_commitment(
            conn,
            actor,
            cctv["id"],
            CommitmentSpec(
                what="Connect 40 JMPD cameras to the command centre",
                responsible_agency_id=parties["jmpd"],
                due_on=date(2026, 8, 1),
                indicator="Cameras connected",
                target=40,
                direction=Direction.AT_LEAST,
            ),
            NOW,
        )
    return agreement["id"], ops["id"], late["id"]


def test_agreement_with_areas_commitments_progress_and_dashboard(
    database: Database, parties: dict[str, str]
) -> None:
    agreement_id, _, late_id = _agreement(database, parties)
    jmpd = staff(parties["jmpd"], Role.OPERATOR, name="jmpd-ops")
    saps = staff(parties["saps"], Role.OPERATOR, name="saps-ops")
    with database.write() as conn, pytest.raises(Forbidden, match="responsible party"):
        agreements.report_progress(
            conn,
            saps,
            late_id,
            percent=50,
            on_track=True,
            note="x",
            value=None,
            status=None,
            evidence_sha256=None,
            now=NOW,
        )
    with database.write() as conn:
        agreements.report_progress(
            conn,
            jmpd,
            late_id,
            percent=60,
            on_track=False,
            note="24 of 40 connected; fibre delayed",
            value=24,
            status=None,
            evidence_sha256=None,
            now=NOW,
        )
    with database.read() as conn:
        detail = agreements.detail(conn, jmpd, agreement_id, NOW)
        board = agreements.dashboard(conn, staff(parties["city"], Role.OVERSIGHT), NOW)
    by_area = {a["kind"]: a for a in detail["areas"]}
    cameras = by_area["cctv_integration"]["commitments"][0]
    assert (cameras["status"], cameras["health"], cameras["reported_value"]) == ("in_progress", "overdue", 24)
    assert [p["name"] for p in detail["parties"]] == ["City of Johannesburg", "JMPD", "SAPS Hillbrow"]
    assert [c["what"] for c in board] == ["Connect 40 JMPD cameras to the command centre"]
    with database.read() as conn:
        actions = set(conn.execute(select(audit_log.c.action)).scalars())
    assert {"partners.agreement_create", "partners.commitment_add", "partners.progress"} <= actions


def test_delivery_needs_evidence(database: Database, parties: dict[str, str]) -> None:
    _, _, late_id = _agreement(database, parties)
    jmpd = staff(parties["jmpd"], Role.OPERATOR, name="jmpd-ops")
    with database.write() as conn, pytest.raises(InvalidInput, match="evidence"):
        agreements.report_progress(
            conn,
            jmpd,
            late_id,
            percent=100,
            on_track=True,
            note="done",
            value=40,
            status=CommitmentStatus.DELIVERED,
            evidence_sha256=None,
            now=NOW,
        )


def test_an_outsider_sees_no_agreement(database: Database, parties: dict[str, str]) -> None:
    _agreement(database, parties)
    outsider = staff(parties["other"], Role.OPERATOR, where=GP.__class__(municipalities=frozenset({"TSH"})))
    with database.read() as conn:
        assert agreements.list_agreements(conn, outsider) == []


def test_quarterly_report_takes_arrests_from_joint_operations(
    database: Database, parties: dict[str, str]
) -> None:
    agreement_id, _, _ = _agreement(database, parties)
    saps = staff(parties["saps"], Role.OPERATOR, name="saps-ops")
    plan = OperationPlan(
        name="Operation Vala Umgodi",
        objective="Close illegal mining shafts",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=8),
        lead_agency_id=parties["saps"],
        commander="Col. M. Dlamini",
        marking=Marking(Tlp.AMBER),
        agreement_id=agreement_id,
    )
    with database.write() as conn:
        op = operations.plan(conn, saps, plan, NOW)
        operations.record_outcome(
            conn, saps, op["id"], OutcomeKind.ARREST, 7, "illegal miners", NOW + timedelta(hours=2)
        )
        operations.record_outcome(
            conn, saps, op["id"], OutcomeKind.ARREST, 5, "illegal miners", NOW + timedelta(hours=3)
        )
        operations.record_outcome(
            conn, saps, op["id"], OutcomeKind.SEIZURE, 2, "generators", NOW + timedelta(hours=3)
        )
    with database.read() as conn:
        report = reports.build(conn, staff(parties["city"], Role.OVERSIGHT), agreement_id, Q3, NOW)
        before = reports.build(
            conn, staff(parties["city"], Role.OVERSIGHT), agreement_id, Quarter.parse("2026Q2"), NOW
        )
    rows = {r.what: r for r in report.rows}
    mining = rows["Joint operations against illegal mining"]
    assert (mining.platform_value, mining.met) == (12.0, True)
    assert {r.what: r.platform_value for r in before.rows}["Joint operations against illegal mining"] == 0.0
    cameras = rows["Connect 40 JMPD cameras to the command centre"]
    assert cameras.platform_value is None
    table = list(csv.DictReader(io.StringIO(reports.to_csv(report))))
    assert {r["commitment"]: r["platform_value"] for r in table} == {
        "Connect 40 JMPD cameras to the command centre": reports.NO_FIGURE,
        "Joint operations against illegal mining": "12",
    }
    pdf = reports.to_pdf(report)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 1500


CCTV = (AreaKind.CCTV_INTEGRATION,)


def test_rules_answer_from_active_agreements_only(database: Database, parties: dict[str, str]) -> None:
    agreement_id, _, _ = _agreement(database, parties, status=AgreementStatus.DRAFT)
    with database.read() as conn:
        assert parties["jmpd"] not in rules.partners_of(conn, parties["city"], CCTV, NOW)
    with database.write() as conn:
        agreements.set_status(
            conn,
            staff(parties["city"], Role.MUNICIPAL_OFFICIAL),
            agreement_id,
            AgreementStatus.ACTIVE,
            None,
            NOW,
        )
    with database.read() as conn:
        assert parties["jmpd"] in rules.partners_of(conn, parties["city"], CCTV, NOW)
        assert rules.partners_of(conn, parties["city"], CCTV, NOW) == {
            parties["jmpd"],
            parties["saps"],
        }
        assert parties["other"] not in rules.partners_of(conn, parties["city"], CCTV, NOW)
        assert parties["saps"] in rules.dispatch_partners(conn, [parties["jmpd"]], NOW)
        # No information-sharing area in this agreement.
        assert parties["saps"] not in rules.partners_of(
            conn, parties["jmpd"], (AreaKind.INFORMATION_SHARING,), NOW
        )
        assert parties["jmpd"] not in rules.partners_of(
            conn, parties["city"], CCTV, datetime(2026, 2, 1, tzinfo=UTC)
        )
