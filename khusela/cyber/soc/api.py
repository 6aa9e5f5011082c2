"""The SOC's HTTP API: event ingest, the alert queue, exceptions, cases, response actions
and reported e-mails.

The SOC works province-wide, so the access rule is by role: `CYBER_READ` to read,
`CYBER_RESPOND` to change anything, `CYBER_INGEST` for log shippers, `CYBER_REPORT` for
any member of staff reporting an e-mail. Each read applies the policy's filter (scope ALL
for the SOC's roles) so that a role given a narrower scope later sees nothing by default.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import Field
from sqlalchemy import Connection, func, insert, select, update
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Incoming, Outgoing
from khusela.audit import log as audit
from khusela.bootstrap import Platform
from khusela.bus.outbox import enqueue
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.events import Event
from khusela.core.ids import new_id
from khusela.cyber.soc import actions, alerts, cases, phish_reports
from khusela.cyber.soc.ingest import parse_lines
from khusela.cyber.soc.pipeline import pipeline_of
from khusela.cyber.soc.tables import (
    cyber_actions,
    cyber_alert_events,
    cyber_alerts,
    cyber_cases,
    cyber_exceptions,
    cyber_phish_reports,
)
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, read_filter

router = APIRouter(prefix="/api/cyber", tags=["cyber"])
Reader = Annotated[Principal, Depends(require(Action.CYBER_READ))]
Responder = Annotated[Principal, Depends(require(Action.CYBER_RESPOND))]
Shipper = Annotated[Principal, Depends(require(Action.CYBER_INGEST))]
Reporter = Annotated[Principal, Depends(require(Action.CYBER_REPORT))]
INGEST_PATH = "/api/cyber/ingest"
MAX_INGEST_BYTES = 16 * 1024 * 1024
PHISH_PATH = "/api/cyber/phishing/reports"
Severity = Literal["informational", "low", "medium", "high", "critical"]


def _visible(viewer: Principal) -> Any:
    return read_filter(viewer, Action.CYBER_READ, Columns())


def _now() -> datetime:
    return datetime.now(UTC)


# --- ingest ------------------------------------------------------------------------------


class IngestProblem(Outgoing):
    line: int
    reason: str


class IngestOut(Outgoing):
    accepted: int
    malformed: int
    problems: list[IngestProblem] = Field(description="The first 100 malformed lines, with the reason.")


@router.post(
    "/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestOut,
    summary="Events as JSON lines (Windows/Sysmon, ECS-like); bad lines are reported, good ones kept",
)
async def ingest(request: Request, shipper: Shipper, platform: PlatformDep) -> IngestOut:
    body = await request.body()
    parsed, problems = parse_lines(body)
    if not parsed and not problems:
        raise InvalidInput("no events: send one JSON object per line")
    pipeline_of(platform).submit(parsed)
    return IngestOut(
        accepted=len(parsed),
        malformed=len(problems),
        problems=[IngestProblem(line=line, reason=reason) for line, reason in problems[:100]],
    )


class PipelineOut(Outgoing):
    ready: bool
    received: int
    dropped: int
    malformed: dict[str, int]
    alerts_raised: int
    suppressed: int
    rules_loaded: int
    rules_unsupported: int
    latency_p95_s: float | None = Field(description="Arrival to stored alert, over the last 10,000 alerts.")
    syslog_udp_port: int | None
    syslog_tcp_port: int | None
    response_files_at: datetime | None
    response_error: str | None


@router.get("/status", response_model=PipelineOut, summary="The detection pipeline on this node")
async def pipeline_status(viewer: Reader, platform: PlatformDep) -> PipelineOut:
    pipeline = pipeline_of(platform)
    stats = pipeline.stats
    listener = pipeline.listener
    return PipelineOut(
        ready=pipeline.ready,
        received=stats.received,
        dropped=stats.dropped,
        malformed=dict(stats.malformed),
        alerts_raised=stats.alerts_raised,
        suppressed=stats.suppressed,
        rules_loaded=stats.rules_loaded,
        rules_unsupported=stats.rules_unsupported,
        latency_p95_s=stats.latency_p95(),
        syslog_udp_port=listener.udp_port if listener else None,
        syslog_tcp_port=listener.tcp_port if listener else None,
        response_files_at=pipeline.publisher.last_at,
        response_error=pipeline.publisher.last_error,
    )


# --- alerts ------------------------------------------------------------------------------


class AlertOut(Outgoing):
    id: str
    kind: str = Field(description="sigma, correlation or phishing")
    rule_id: str
    title: str
    author: str | None = Field(
        description="The rule's author (SigmaHQ's licence asks every alert to name it)."
    )
    severity: str
    tags: list[str]
    source: str | None
    host: str | None
    count: int = Field(description="Events folded into this alert.")
    first_seen: datetime
    last_seen: datetime
    raised_at: datetime
    status: str
    case_id: str | None
    detail: dict[str, Any]


class AlertEventOut(Outgoing):
    id: int
    at: datetime | None
    received_at: datetime
    fields: dict[str, Any]
    raw: str


class AlertDetailOut(AlertOut):
    events: list[AlertEventOut]


@router.get("/alerts", response_model=list[AlertOut], summary="The SOC queue, newest activity first")
def list_alerts(
    viewer: Reader,
    platform: PlatformDep,
    severity: Annotated[list[Severity] | None, Query()] = None,
    host: Annotated[str | None, Query(max_length=255)] = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    alert_status: Annotated[
        list[Literal["new", "acknowledged", "closed", "false_positive"]] | None, Query(alias="status")
    ] = None,
    kind: Annotated[Literal["sigma", "correlation", "phishing"] | None, Query()] = None,
    case_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    query = select(cyber_alerts).where(_visible(viewer))
    if severity:
        query = query.where(cyber_alerts.c.severity.in_(severity))
    if host:
        query = query.where(func.lower(cyber_alerts.c.host) == host.lower())
    if source:
        query = query.where(cyber_alerts.c.source == source)
    if alert_status:
        query = query.where(cyber_alerts.c.status.in_(alert_status))
    if kind:
        query = query.where(cyber_alerts.c.kind == kind)
    if case_id:
        query = query.where(cyber_alerts.c.case_id == case_id)
    query = query.order_by(cyber_alerts.c.last_seen.desc(), cyber_alerts.c.id).limit(limit)
    with platform.db.read() as conn:
        return [alerts.alert_payload(r._mapping) for r in conn.execute(query)]


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, summary="One alert with its matching events")
def get_alert(alert_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.read() as conn:
        row = conn.execute(
            select(cyber_alerts).where(cyber_alerts.c.id == alert_id, _visible(viewer))
        ).first()
        if row is None:
            raise NotFound("no such alert")
        events = [
            dict(r._mapping)
            for r in conn.execute(
                select(cyber_alert_events)
                .where(cyber_alert_events.c.alert_id == alert_id)
                .order_by(cyber_alert_events.c.id)
            )
        ]
    return alerts.alert_payload(row._mapping) | {"events": events}


class ExceptionIn(Incoming):
    scope: Literal["source", "host"] = Field(description="Which of the alert's source or host to except.")
    reason: str = Field(min_length=3, max_length=500)
    expires_days: int | None = Field(90, ge=1, le=3650, description="Null: until revoked.")


class AlertStatusIn(Incoming):
    status: Literal["new", "acknowledged", "closed", "false_positive"]
    exception: ExceptionIn | None = Field(
        None, description="With false_positive: stop alerting on this rule for this source or host only."
    )


@router.post(
    "/alerts/{alert_id}/status", response_model=AlertOut, summary="Acknowledge, close or mark false positive"
)
def set_alert_status(
    alert_id: str, body: AlertStatusIn, analyst: Responder, platform: PlatformDep
) -> dict[str, Any]:
    now = _now()
    with platform.db.write() as conn:
        row = conn.execute(
            select(cyber_alerts).where(cyber_alerts.c.id == alert_id, _visible(analyst))
        ).first()
        if row is None:
            raise NotFound("no such alert")
        if body.exception is not None:
            if body.status != "false_positive":
                raise InvalidInput("an exception goes with marking the alert a false positive")
            value = row.source if body.exception.scope == "source" else row.host
            if value is None:
                raise InvalidInput(f"the alert has no {body.exception.scope} to scope an exception to")
            _add_exception(
                conn,
                analyst,
                rule_id=row.rule_id,
                source=value if body.exception.scope == "source" else None,
                host=value if body.exception.scope == "host" else None,
                reason=body.exception.reason,
                expires_days=body.exception.expires_days,
                now=now,
            )
        conn.execute(
            update(cyber_alerts)
            .where(cyber_alerts.c.id == alert_id)
            .values(status=body.status, status_by=analyst.username, status_at=now)
        )
        audit.record(
            conn, analyst.username, "cyber.alert_status_set", "cyber_alert", alert_id, {"status": body.status}
        )
        changed = conn.execute(select(cyber_alerts).where(cyber_alerts.c.id == alert_id)).one()
        payload = alerts.alert_payload(changed._mapping)
        enqueue(conn, Event(alerts.ALERT_CHANGED, payload))
    platform.relay.notify()
    return payload


# --- exceptions --------------------------------------------------------------------------


class ExceptionOut(Outgoing):
    id: str
    rule_id: str
    source: str | None
    host: str | None
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    hits: int = Field(
        description="Detections this exception suppressed: watch it for one that hides an attack."
    )
    last_hit_at: datetime | None
    revoked_at: datetime | None


class NewExceptionIn(Incoming):
    rule_id: str = Field(min_length=1, max_length=120)
    source: str | None = Field(None, max_length=64, description="An IP address or network (CIDR).")
    host: str | None = Field(None, max_length=255)
    reason: str = Field(min_length=3, max_length=500)
    expires_days: int | None = Field(90, ge=1, le=3650)


def _add_exception(
    conn: Connection,
    analyst: Principal,
    *,
    rule_id: str,
    source: str | None,
    host: str | None,
    reason: str,
    expires_days: int | None,
    now: datetime,
) -> dict[str, Any]:
    if source is None and host is None:
        raise InvalidInput(
            "scope the exception to a source or a host: silencing a rule everywhere is not allowed"
        )
    if source is not None:
        try:
            source = str(ipaddress.ip_network(source, strict=False))
        except ValueError:
            raise InvalidInput(f"{source!r} is not an IP address or network") from None
    row = {
        "id": new_id(),
        "rule_id": rule_id,
        "source": source,
        "host": host.lower() if host else None,
        "reason": " ".join(reason.split()),
        "created_by": analyst.username,
        "created_at": now,
        "expires_at": now + timedelta(days=expires_days) if expires_days else None,
        "hits": 0,
        "last_hit_at": None,
        "revoked_at": None,
    }
    conn.execute(insert(cyber_exceptions).values(**row))
    audit.record(
        conn,
        analyst.username,
        "cyber.exception_added",
        "cyber_exception",
        str(row["id"]),
        {"rule_id": rule_id},
    )
    return row


@router.get("/exceptions", response_model=list[ExceptionOut], summary="Exceptions, live ones first")
def list_exceptions(viewer: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        rows = conn.execute(
            select(cyber_exceptions)
            .where(_visible(viewer))
            .order_by(cyber_exceptions.c.revoked_at.is_not(None), cyber_exceptions.c.created_at.desc())
        )
        return [dict(r._mapping) for r in rows]


@router.post("/exceptions", status_code=status.HTTP_201_CREATED, response_model=ExceptionOut)
def add_exception(body: NewExceptionIn, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        return _add_exception(
            conn,
            analyst,
            rule_id=body.rule_id,
            source=body.source,
            host=body.host,
            reason=body.reason,
            expires_days=body.expires_days,
            now=_now(),
        )


@router.delete("/exceptions/{exception_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_exception(exception_id: str, analyst: Responder, platform: PlatformDep) -> None:
    with platform.db.write() as conn:
        result = conn.execute(
            update(cyber_exceptions)
            .where(cyber_exceptions.c.id == exception_id, cyber_exceptions.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        if result.rowcount != 1:
            raise NotFound("no such live exception")
        audit.record(conn, analyst.username, "cyber.exception_revoked", "cyber_exception", exception_id)


# --- cases -------------------------------------------------------------------------------


class CaseIn(Incoming):
    title: str = Field(min_length=1, max_length=300)
    severity: Severity = "medium"
    alert_ids: list[str] = Field(default_factory=list, max_length=1000)
    assignee: str | None = Field(None, max_length=80)


class CaseOut(Outgoing):
    id: str
    title: str
    severity: str
    status: str
    assignee: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    alerts: int = 0


class TimelineEntry(Outgoing):
    at: datetime | None
    kind: str = Field(description="opened, note, status, severity, assigned, alert_added, event, action")
    actor: str | None
    text: str
    ref: str | None = None
    raw: str | None = None


class CaseDetailOut(Outgoing):
    case: CaseOut
    alerts: list[AlertOut]
    timeline: list[TimelineEntry]


class CasePatch(Incoming):
    status: Literal["open", "investigating", "contained", "closed"] | None = None
    severity: Severity | None = None
    assignee: str | None = Field(None, max_length=80)
    unassign: bool = False


class NoteIn(Incoming):
    text: str = Field(min_length=1, max_length=10_000)


class CaseAlertsIn(Incoming):
    alert_ids: list[str] = Field(min_length=1, max_length=1000)


@router.get("/cases", response_model=list[CaseOut], summary="Cases, most recently changed first")
def list_cases(
    viewer: Reader,
    platform: PlatformDep,
    case_status: Annotated[
        list[Literal["open", "investigating", "contained", "closed"]] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    counts = (
        select(cyber_alerts.c.case_id, func.count().label("alerts"))
        .where(cyber_alerts.c.case_id.is_not(None))
        .group_by(cyber_alerts.c.case_id)
        .subquery()
    )
    query = (
        select(cyber_cases, func.coalesce(counts.c.alerts, 0).label("alerts"))
        .outerjoin(counts, counts.c.case_id == cyber_cases.c.id)
        .where(_visible(viewer))
    )
    if case_status:
        query = query.where(cyber_cases.c.status.in_(case_status))
    query = query.order_by(cyber_cases.c.updated_at.desc()).limit(limit)
    with platform.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseDetailOut)
def open_case(body: CaseIn, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        case_id = cases.open_case(
            conn,
            actor=analyst.username,
            title=body.title,
            severity=body.severity,
            alert_ids=body.alert_ids,
            assignee=body.assignee,
            now=_now(),
        )
        return _case_detail(cases.view(conn, case_id))


@router.get("/cases/{case_id}", response_model=CaseDetailOut, summary="A case with its alerts and timeline")
def get_case(case_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.read() as conn:
        if (
            conn.execute(
                select(cyber_cases.c.id).where(cyber_cases.c.id == case_id, _visible(viewer))
            ).first()
            is None
        ):
            raise NotFound("no such case")
        return _case_detail(cases.view(conn, case_id))


@router.patch("/cases/{case_id}", response_model=CaseDetailOut)
def change_case(case_id: str, body: CasePatch, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        cases.change(
            conn,
            case_id,
            actor=analyst.username,
            now=_now(),
            status=body.status,
            severity=body.severity,
            assignee=body.assignee,
            unassign=body.unassign,
        )
        return _case_detail(cases.view(conn, case_id))


@router.post("/cases/{case_id}/notes", response_model=CaseDetailOut, status_code=status.HTTP_201_CREATED)
def add_case_note(case_id: str, body: NoteIn, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        cases.add_note(conn, case_id, body.text, actor=analyst.username, now=_now())
        return _case_detail(cases.view(conn, case_id))


@router.post("/cases/{case_id}/alerts", response_model=CaseDetailOut)
def add_case_alerts(
    case_id: str, body: CaseAlertsIn, analyst: Responder, platform: PlatformDep
) -> dict[str, Any]:
    with platform.db.write() as conn:
        cases.add_alerts(conn, case_id, body.alert_ids, actor=analyst.username, now=_now())
        return _case_detail(cases.view(conn, case_id))


def _case_detail(view: dict[str, Any]) -> dict[str, Any]:
    case = view["case"] | {"alerts": len(view["alerts"])}
    titles = {a["id"]: a["title"] for a in view["alerts"]}
    timeline: list[dict[str, Any]] = [
        {"at": e["at"], "kind": e["kind"], "actor": e["actor"], "text": e["text"], "ref": e["ref"]}
        for e in view["entries"]
    ]
    for event in view["events"]:
        timeline.append(
            {
                "at": event["at"] or event["received_at"],
                "kind": "event",
                "actor": None,
                "text": titles.get(event["alert_id"], "event"),
                "ref": event["alert_id"],
                "raw": event["raw"],
            }
        )
    for action in view["actions"]:
        timeline.append(
            {
                "at": action["proposed_at"],
                "kind": "action",
                "actor": action["proposed_by"] or "automatic",
                "text": f"{action['kind'].replace('_', ' ')} {action['target']}: {action['status']}",
                "ref": action["id"],
            }
        )
    timeline.sort(key=lambda item: _utc(item["at"]))
    return {"case": case, "alerts": [alerts.alert_payload(a) for a in view["alerts"]], "timeline": timeline}


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- response actions --------------------------------------------------------------------


class ActionIn(Incoming):
    kind: Literal["block_ip", "block_domain", "quarantine_message"]
    target: str = Field(min_length=1, max_length=255, description="IP/CIDR, domain, or Message-ID.")
    reason: str = Field(min_length=3, max_length=500)
    alert_id: str | None = Field(None, max_length=36)
    case_id: str | None = Field(None, max_length=36)
    duration_hours: float | None = Field(
        None, gt=0, le=24 * 365, description="Default: the platform's block duration. Actions always expire."
    )


class ActionOut(Outgoing):
    id: str
    kind: str
    target: str
    reason: str
    status: str = Field(description="proposed, active, rejected, reverted or expired")
    alert_id: str | None
    case_id: str | None
    automatic: bool
    proposed_by: str | None
    proposed_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    duration_hours: float | None
    expires_at: datetime | None
    ended_by: str | None
    ended_at: datetime | None


@router.get("/actions", response_model=list[ActionOut], summary="Response actions, newest first")
def list_actions(
    viewer: Reader,
    platform: PlatformDep,
    action_status: Annotated[
        list[Literal["proposed", "active", "rejected", "reverted", "expired"]] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    query = select(cyber_actions).where(_visible(viewer))
    if action_status:
        query = query.where(cyber_actions.c.status.in_(action_status))
    query = query.order_by(cyber_actions.c.proposed_at.desc()).limit(limit)
    with platform.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


@router.post("/actions", status_code=status.HTTP_201_CREATED, response_model=ActionOut)
def propose_action(body: ActionIn, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        row = actions.propose(
            conn,
            actor=analyst.username,
            kind=body.kind,
            target=body.target,
            reason=body.reason,
            now=_now(),
            protected=platform.settings.cyber_protected,
            duration_hours=body.duration_hours or platform.settings.cyber_block_hours,
            alert_id=body.alert_id,
            case_id=body.case_id,
        )
    platform.relay.notify()
    return row


def _decide(action_id: str, analyst: Principal, platform: Platform, verb: str) -> dict[str, Any]:
    step = {"approve": actions.approve, "reject": actions.reject, "revert": actions.revert}[verb]
    with platform.db.write() as conn:
        row = step(conn, action_id, actor=analyst.username, now=_now())
    platform.relay.notify()
    if verb != "reject":
        pipeline_of(platform).publisher.poke()
    return row


@router.post("/actions/{action_id}/approve", response_model=ActionOut, summary="Approve (a second analyst)")
def approve_action(action_id: str, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    return _decide(action_id, analyst, platform, "approve")


@router.post("/actions/{action_id}/reject", response_model=ActionOut)
def reject_action(action_id: str, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    return _decide(action_id, analyst, platform, "reject")


@router.post("/actions/{action_id}/revert", response_model=ActionOut, summary="Lift an active action now")
def revert_action(action_id: str, analyst: Responder, platform: PlatformDep) -> dict[str, Any]:
    return _decide(action_id, analyst, platform, "revert")


# --- reported e-mails --------------------------------------------------------------------


class PhishReportOut(Outgoing):
    id: str
    alert_id: str | None
    subject: str | None
    sender: str | None
    score: float
    verdict: str
    reasons: list[str]


class PhishReportRow(PhishReportOut):
    reporter: str
    received_at: datetime
    sha256: str
    analyst_verdict: str | None
    corrected_by: str | None
    corrected_at: datetime | None


class VerdictIn(Incoming):
    verdict: Literal["phishing", "suspicious", "clean"]


class AccuracyOut(Outgoing):
    reviewed: int
    agreement: float | None
    recall: float | None = Field(description="Analyst-confirmed phishing that the analyser flagged.")
    false_positive_rate: float | None = Field(description="Analyst-cleared mail that the analyser flagged.")
    matrix: list[dict[str, Any]]


@router.post(
    "/phishing/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=PhishReportOut,
    summary="Report a suspicious e-mail (the raw message as message/rfc822); the verdict comes back at once",
)
async def report_phish(request: Request, reporter: Reporter, platform: PlatformDep) -> dict[str, Any]:
    raw = await request.body()

    def store() -> dict[str, Any]:
        with platform.db.write() as conn:
            return phish_reports.report(conn, raw, reporter=reporter.username, now=_now())

    result = await run_in_threadpool(store)
    platform.relay.notify()
    return result


@router.get(
    "/phishing/reports", response_model=list[PhishReportRow], summary="Reported e-mails, newest first"
)
def list_phish_reports(
    viewer: Reader,
    platform: PlatformDep,
    verdict: Annotated[Literal["phishing", "suspicious", "clean"] | None, Query()] = None,
    unreviewed: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    columns = [c for c in cyber_phish_reports.c if c.name != "raw"]
    query = select(*columns).where(_visible(viewer))
    if verdict:
        query = query.where(cyber_phish_reports.c.verdict == verdict)
    if unreviewed:
        query = query.where(cyber_phish_reports.c.analyst_verdict.is_(None))
    query = query.order_by(cyber_phish_reports.c.received_at.desc()).limit(limit)
    with platform.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


@router.get(
    "/phishing/accuracy", response_model=AccuracyOut, summary="The analyser against analysts' verdicts"
)
def phish_accuracy(viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.read() as conn:
        return phish_reports.accuracy(conn)


@router.post("/phishing/reports/{report_id}/verdict", response_model=PhishReportRow)
def correct_phish(
    report_id: str, body: VerdictIn, analyst: Responder, platform: PlatformDep
) -> dict[str, Any]:
    with platform.db.write() as conn:
        phish_reports.correct(conn, report_id, body.verdict, analyst=analyst.username, now=_now())
        row = phish_reports.load(conn, report_id)
    row.pop("raw")
    return row
