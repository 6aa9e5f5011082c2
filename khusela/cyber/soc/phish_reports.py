"""Reported e-mails: staff forward a suspicious message, the analyser gives a verdict at once,
and anything not clean lands in the SOC queue as an alert. An analyst's correction is kept
beside the automatic verdict; together they measure the analyser on the province's own
mail, which is the only accuracy figure that matters in production."""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.cyber.phishing import analyse
from khusela.cyber.phishing.parse import header_text
from khusela.cyber.soc import alerts
from khusela.cyber.soc.tables import cyber_phish_reports

VERDICTS = ("phishing", "suspicious", "clean")
SEVERITY = {"phishing": "high", "suspicious": "medium"}
MAX_EML_BYTES = 10 * 1024 * 1024
RULE_ID = "khusela-phishing-report"


def _header(message: email.message.Message, name: str) -> str | None:
    try:
        value = message.get(name)
        text = header_text(value) if value else ""
    except (ValueError, TypeError, IndexError):  # malformed headers are the norm in phishing
        return None
    return " ".join(text.split())[:500] or None


def report(conn: Connection, raw: bytes, *, reporter: str, now: datetime) -> dict[str, Any]:
    """Analyse and keep a reported message; raise an alert unless it is clean."""
    if not raw.strip():
        raise InvalidInput("the message is empty: send the raw e-mail (message/rfc822)")
    if len(raw) > MAX_EML_BYTES:
        raise InvalidInput(f"the message is larger than {MAX_EML_BYTES // (1024 * 1024)} MiB")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not message.keys():
        raise InvalidInput("that is not an e-mail: no headers found")
    verdict = analyse(raw)
    report_id = new_id()
    subject, sender = _header(message, "Subject"), _header(message, "From")
    alert_id = None
    if verdict.verdict in SEVERITY:
        recorded = alerts.record(
            conn,
            [
                alerts.Detection(
                    kind="phishing",
                    rule_id=RULE_ID,
                    title=f"Reported e-mail looks like {verdict.verdict}: {subject or '(no subject)'}",
                    severity=SEVERITY[verdict.verdict],
                    received_at=now,
                    author="Khusela phishing analyser",
                    tags=("attack.initial-access", "attack.t1566"),
                    host=None,
                    source=report_id,  # each report is its own alert
                    detail={"report_id": report_id, "score": verdict.score, "reasons": verdict.reasons},
                )
            ],
            now,
        )
        alert_id = next(iter(recorded.raised or recorded.updated), None)
    conn.execute(
        insert(cyber_phish_reports).values(
            id=report_id,
            reporter=reporter,
            received_at=now,
            subject=subject,
            sender=sender,
            message_id=_header(message, "Message-ID"),
            sha256=hashlib.sha256(raw).hexdigest(),
            raw=raw,
            score=float(verdict.score),
            verdict=verdict.verdict,
            reasons=list(verdict.reasons),
            alert_id=alert_id,
        )
    )
    audit.record(
        conn, reporter, "cyber.phish_reported", "cyber_phish_report", report_id, {"verdict": verdict.verdict}
    )
    return {"id": report_id, "alert_id": alert_id, "subject": subject, "sender": sender, **asdict(verdict)}


def correct(conn: Connection, report_id: str, verdict: str, *, analyst: str, now: datetime) -> None:
    """Record the analyst's verdict (it may equal the automatic one: that is a confirmation)."""
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}")
    result = conn.execute(
        update(cyber_phish_reports)
        .where(cyber_phish_reports.c.id == report_id)
        .values(analyst_verdict=verdict, corrected_by=analyst, corrected_at=now)
    )
    if result.rowcount != 1:
        raise NotFound("no such report")
    audit.record(
        conn, analyst, "cyber.phish_verdict_set", "cyber_phish_report", report_id, {"verdict": verdict}
    )


def accuracy(conn: Connection) -> dict[str, Any]:
    """Automatic against analyst verdicts over every reviewed report."""
    pairs = Counter(
        (r.verdict, r.analyst_verdict)
        for r in conn.execute(
            select(cyber_phish_reports.c.verdict, cyber_phish_reports.c.analyst_verdict).where(
                cyber_phish_reports.c.analyst_verdict.is_not(None)
            )
        )
    )
    reviewed = sum(pairs.values())
    agreed = sum(n for (auto, human), n in pairs.items() if auto == human)
    flagged = {"phishing", "suspicious"}
    tp = sum(n for (auto, human), n in pairs.items() if auto in flagged and human == "phishing")
    fn = sum(n for (auto, human), n in pairs.items() if auto == "clean" and human == "phishing")
    fp = sum(n for (auto, human), n in pairs.items() if auto in flagged and human == "clean")
    tn = sum(n for (auto, human), n in pairs.items() if auto == "clean" and human == "clean")
    return {
        "reviewed": reviewed,
        "agreement": agreed / reviewed if reviewed else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "false_positive_rate": fp / (fp + tn) if fp + tn else None,
        "matrix": [
            {"automatic": auto, "analyst": human, "count": n} for (auto, human), n in sorted(pairs.items())
        ],
    }


def load(conn: Connection, report_id: str) -> dict[str, Any]:
    row = conn.execute(select(cyber_phish_reports).where(cyber_phish_reports.c.id == report_id)).first()
    if row is None:
        raise NotFound("no such report")
    return dict(row._mapping)
