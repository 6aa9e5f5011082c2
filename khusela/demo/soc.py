"""Demo SOC state: the alerts a provincial SOC sees on an ordinary morning, made by running
realistic log lines through the real parsers and correlator (nothing is written to the
alert tables by hand), plus a case and a block awaiting a second analyst's approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from khusela.cyber.ingest import Malformed, parse, parse_access
from khusela.cyber.ingest.normalise import Event as LogEvent
from khusela.cyber.soc import actions, alerts, cases
from khusela.cyber.soc.pipeline import Arrival, Detector, syslog_event

_SSH_SOURCES = (("196.41.118.7", 40), ("102.165.31.90", 12))
_USERS = ("root", "admin", "oracle", "ubuntu", "postgres", "test", "git", "pi")
_WEB_ATTACKS = (
    ("41.193.54.12", "GET /eservices/login.php?id=1%27%20OR%201=1-- HTTP/1.1", "sqlmap/1.7.2#stable"),
    ("41.193.54.12", "GET /eservices/../../etc/passwd HTTP/1.1", "sqlmap/1.7.2#stable"),
    ("154.0.14.3", "GET /search?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1", "Mozilla/5.0"),
)


def _lines(now: datetime) -> list[tuple[LogEvent, str]]:
    start = now - timedelta(hours=2)
    found: list[tuple[LogEvent, str]] = []
    second = 0
    for source, attempts in _SSH_SOURCES:
        for i in range(attempts):
            second += 2
            stamp = (start + timedelta(seconds=second)).strftime("%b %d %H:%M:%S")
            user = _USERS[i % len(_USERS)]
            line = (
                f"<38>{stamp} vpn-gw01.gauteng.local sshd[4121]: Failed password for invalid user {user} "
                f"from {source} port {40000 + i} ssh2"
            )
            record = parse(line, year=now.year)
            if not isinstance(record, Malformed):
                found.append((syslog_event(record), line))
    for i, (source, request, agent) in enumerate(_WEB_ATTACKS):
        stamp = (start + timedelta(minutes=30 + i)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        line = f'{source} - - [{stamp}] "{request}" 404 512 "-" "{agent}"'
        event = parse_access(line, product="nginx")
        if not isinstance(event, Malformed):
            found.append((event, line))
    return found


def seed_soc(conn: Connection, now: datetime | None = None) -> None:
    """Alerts from realistic lines, one case, one proposed block (in the caller's transaction)."""
    now = now or datetime.now(UTC)
    detector = Detector([])
    batch = [Arrival(event, raw, now, 0.0) for event, raw in _lines(now)]
    recorded = alerts.record(conn, detector.run(batch), now)
    if not recorded.raised:
        return
    case_id = cases.open_case(
        conn,
        actor="soc",
        title="SSH password guessing on the provincial VPN gateway",
        severity="high",
        alert_ids=recorded.raised[:1],
        assignee="soc",
        now=now,
    )
    note = "Both sources are hosting-provider ranges; no successful logon seen."
    cases.add_note(conn, case_id, note, actor="soc", now=now)
    actions.propose(
        conn,
        actor="soc",
        kind="block_ip",
        target=_SSH_SOURCES[0][0],
        reason="SSH brute force against vpn-gw01 (case opened)",
        now=now,
        protected=["gov.za"],
        duration_hours=24,
        case_id=case_id,
    )
