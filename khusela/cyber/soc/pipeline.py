"""The live detection pipeline: syslog and HTTP ingest in, alerts in the SOC queue out.

Arrivals (syslog datagrams and TCP frames, HTTP JSON lines) are parsed on the event loop and
queued with their arrival time. One consumer takes them in small batches (up to
`BATCH_EVENTS`, or whatever arrived within `BATCH_SECONDS`), runs Sigma rules and the
correlator in a worker thread, and folds the detections into alerts in one transaction.
Batching keeps the database cost per event small while bounding the delay an alert waits;
the delay from arrival to a stored alert is measured for every alert (`latency_p95`).

The queue is bounded: the HTTP ingest answers 503 when it is full instead of accepting
events it would lose; the syslog listener (which cannot push back) counts what it drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool

from khusela.core.errors import Conflict, InvalidInput, ServiceUnavailable
from khusela.cyber.correlate import Alert as CorrelationAlert
from khusela.cyber.correlate import Correlator
from khusela.cyber.ingest import Malformed, SyslogRecord, normalise, parse_access
from khusela.cyber.ingest.listener import SyslogListener
from khusela.cyber.ingest.normalise import Event as LogEvent
from khusela.cyber.sigma import CompiledRule, load_rules
from khusela.cyber.sigma.correlation import CompiledCorrelation, CorrelationEngine, Firing
from khusela.cyber.sigma.scan import Scanner
from khusela.cyber.soc import actions, alerts
from khusela.cyber.soc.alerts import Detection, SampleEvent
from khusela.cyber.soc.ingest import event_time
from khusela.cyber.soc.response_files import ResponsePublisher
from khusela.cyber.soc.tables import cyber_alerts

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform

log = structlog.get_logger(__name__)

BUILTIN_RULES = Path(__file__).resolve().parent.parent / "rules"
BATCH_EVENTS = 2000
BATCH_SECONDS = 0.05
QUEUE_LIMIT = 200_000
WEB_APPS = frozenset({"nginx", "apache", "apache2", "httpd"})
SIGMA_SEVERITY = {"informational": "informational", "low": "low", "medium": "medium", "high": "high"}


@dataclass(frozen=True, slots=True)
class Arrival:
    """One event as it came in: normalised fields, the raw text, when it arrived."""

    event: Mapping[str, object]
    raw: str
    received_at: datetime
    monotonic: float


@dataclass
class PipelineStats:
    received: int = 0
    dropped: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    alerts_raised: int = 0
    suppressed: int = 0
    rules_loaded: int = 0
    rules_unsupported: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def latency_p95(self) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


IDLE_HORIZON = timedelta(hours=1)
"""Correlation state idle this long (event time) is forgotten: longer than any window."""
PRUNE_EVERY_SECONDS = 60.0


class Detector:
    """Sigma rules and the correlator over one batch of arrivals; pure CPU, run in a thread."""

    def __init__(
        self,
        rules: Iterable[CompiledRule],
        correlator: Correlator | None = None,
        correlations: Iterable[CompiledCorrelation] = (),
    ) -> None:
        self.scanner = Scanner(rules)
        self.correlator = correlator or Correlator()
        self.sigma_correlations = CorrelationEngine(correlations)
        self._pruned_at = time.monotonic()

    def run(self, batch: list[Arrival]) -> list[Detection]:
        grouped: dict[tuple[str, str | None, str | None], list[tuple[CompiledRule, Arrival]]]
        grouped = defaultdict(list)
        fired: dict[int, Firing] = {}
        correlations = self.sigma_correlations
        for arrival in batch:
            for rule in self._rules_firing(arrival.event):
                if correlations.watches(rule.id, rule.name):
                    # a correlation's base rule alerts through the correlation, not on every match
                    when = _event_time_of(arrival)
                    for firing in correlations.feed(rule.id, rule.name, arrival.event, when):
                        fired[id(firing)] = firing
                    continue
                key = (rule.id, _text(arrival.event, "Computer"), _source(arrival.event))
                grouped[key].append((rule, arrival))
        detections = [self._sigma(hits) for hits in grouped.values()]
        received = batch[-1].received_at if batch else datetime.now(UTC)
        detections.extend(self._firing_detection(firing, received) for firing in fired.values())
        for arrival in batch:
            if isinstance(arrival.event, LogEvent):
                self.correlator.feed(arrival.event)
        detections.extend(self._correlation_changes(batch[-1].received_at if batch else datetime.now(UTC)))
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self.forget_idle()
        return detections

    def forget_idle(self) -> None:
        """Let go of correlation state idle for `IDLE_HORIZON` of event time (everything it
        found is already reported), so memory and the per-batch scan stay bounded."""
        self._pruned_at = time.monotonic()
        self.correlator.forget_idle(IDLE_HORIZON)
        self.sigma_correlations.forget_idle(IDLE_HORIZON)

    def _rules_firing(self, event: Mapping[str, object]) -> list[CompiledRule]:
        """Windows events go through the router's prefilter; text-log events to their logsource's rules."""
        if isinstance(event, LogEvent):
            if event.logsource.product == "windows":
                return self.scanner.router.detect(event.fields)
            return [rule for rule in self.scanner.rules_for_source(event.logsource) if rule.matcher(event)]
        return self.scanner.router.detect(event if isinstance(event, dict) else dict(event))

    @staticmethod
    def _sigma(hits: list[tuple[CompiledRule, Arrival]]) -> Detection:
        rule = hits[0][0]
        first = hits[0][1]
        return Detection(
            kind="sigma",
            rule_id=rule.id,
            title=rule.title,
            severity=rule.level or "medium",
            received_at=min(a.received_at for _, a in hits),
            author=rule.author,
            tags=rule.tags,
            source=_source(first.event),
            host=_text(first.event, "Computer"),
            count=len(hits),
            samples=[_sample(a) for _, a in hits[: alerts.MAX_SAMPLES]],
            detail={"rule_path": Path(rule.path).name, "monotonic": min(a.monotonic for _, a in hits)},
        )

    def _firing_detection(self, firing: Firing, received_at: datetime) -> Detection:
        """A Sigma correlation's new firing (all its events) or its growth since last reported."""
        seen, firing.reported = firing.reported, firing.count
        rule = firing.correlation
        first = firing.samples[0] if firing.samples else {}
        return Detection(
            kind="correlation",
            rule_id=rule.id,
            title=rule.title,
            severity=rule.level or "medium",
            received_at=received_at,
            author=rule.author,
            tags=rule.tags,
            source=_source(first),
            host=_text(first, "Computer"),
            first_seen=firing.first_seen,
            last_seen=firing.last_seen,
            count=firing.count - seen,
            samples=[_mapping_sample(e, received_at) for e in firing.samples] if seen == 0 else [],
            detail={"group": dict(zip(rule.group_by, firing.group, strict=True)), "measure": firing.measure},
        )

    def _correlation_changes(self, received_at: datetime) -> list[Detection]:
        """New correlation alerts, and growth of ones already reported (their count delta)."""
        found = []
        for alert in self.correlator.alerts:
            seen = alert.reported
            if alert.count == seen:
                continue
            delta = alert.count - seen
            samples = alert.samples if seen == 0 else []
            alert.reported = alert.count
            found.append(_correlation_detection(alert, delta, samples, received_at))
        return found


def _correlation_detection(
    alert: CorrelationAlert, count: int, samples: list[LogEvent], received_at: datetime
) -> Detection:
    name = str(alert.detail.get("rule", "")) if alert.kind in ("web_attack", "web_scanner") else ""
    rule_id = f"khusela-correlation:{alert.kind}" + (f":{name}" if name else "")
    title = {
        "brute_force": "Brute-force logon attempts",
        "password_spraying": "Password spraying: many accounts from one source",
        "port_scan": "Port scan",
        "web_attack": f"Web attack: {name.replace('_', ' ')}",
        "web_scanner": f"Web vulnerability scanner: {name.split(':', 1)[-1]}",
    }.get(alert.kind, alert.kind)
    host = alert.samples[0].text("Computer") if alert.samples else None  # the same on every delta
    return Detection(
        kind="correlation",
        rule_id=rule_id,
        title=title,
        severity=alert.severity,
        received_at=received_at,
        author="Khusela correlation",
        tags=tuple(f"attack.{t.lower()}" for t in alert.techniques),
        source=alert.source,
        host=host,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        count=count,
        samples=[
            SampleEvent(fields=dict(e.fields), raw=e.raw, at=e.timestamp, received_at=received_at)
            for e in samples
        ],
        detail={"values": alert.detail.get("values", [])} if "values" in alert.detail else {},
    )


def _text(event: Mapping[str, object], name: str) -> str | None:
    value = event.get(name)
    return None if value in (None, "") else str(value)[:255]


def _source(event: Mapping[str, object]) -> str | None:
    for name in ("SourceIp", "IpAddress", "SourceAddress", "src_ip"):
        value = event.get(name)
        if value not in (None, "", "-", "::1", "127.0.0.1"):
            return str(value)[:64]
    return None


def _mapping_sample(event: Mapping[str, object], received_at: datetime) -> SampleEvent:
    if isinstance(event, LogEvent):
        return SampleEvent(
            fields=dict(event.fields), raw=event.raw, at=event.timestamp, received_at=received_at
        )
    return SampleEvent(fields=dict(event), raw="", at=event_time(event), received_at=received_at)


def _event_time_of(arrival: Arrival) -> datetime:
    event = arrival.event
    when = event.timestamp if isinstance(event, LogEvent) else event_time(event)
    return when or arrival.received_at


def _sample(arrival: Arrival) -> SampleEvent:
    event = arrival.event
    fields = dict(event.fields) if isinstance(event, LogEvent) else dict(event)
    at = event.timestamp if isinstance(event, LogEvent) else event_time(event)
    return SampleEvent(fields=fields, raw=arrival.raw, at=at, received_at=arrival.received_at)


def syslog_event(record: SyslogRecord) -> LogEvent:
    """A syslog record as a normalised event; web servers logging to syslog become requests."""
    if (record.app_name or "").lower() in WEB_APPS:
        request = parse_access(record.message, product=(record.app_name or "apache").lower())
        if not isinstance(request, Malformed):
            if record.timestamp is not None and request.timestamp is None:
                request.timestamp = record.timestamp
            return request
    return normalise(record)


class CyberPipeline:
    """The SOC's background service (a `Background`): rules, listener, consumer, publisher."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._settings = platform.settings
        self.stats = PipelineStats()
        self._queue: asyncio.Queue[Arrival] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._detector: Detector | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.listener: SyslogListener | None = None
        self.publisher = ResponsePublisher(platform)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cyber-pipeline")
        await self.publisher.start()
        port = self._settings.cyber_syslog_port
        if port is not None:
            self.listener = SyslogListener(
                self._on_syslog,
                host=self._settings.cyber_syslog_host,
                port=port,
                on_malformed=self._on_malformed,
            )
            await self.listener.start()
            log.info("cyber.syslog_listening", udp=self.listener.udp_port, tcp=self.listener.tcp_port)

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.publisher.stop()

    def _on_syslog(self, record: SyslogRecord) -> None:
        self._offer(syslog_event(record), record.raw, drop=True)

    def _on_malformed(self, problem: Malformed) -> None:
        self.stats.malformed[problem.reason] += 1

    def _offer(self, event: Mapping[str, object], raw: str, *, drop: bool) -> None:
        arrival = Arrival(event, raw, datetime.now(UTC), time.monotonic())
        try:
            self._queue.put_nowait(arrival)
        except asyncio.QueueFull:
            if not drop:
                raise ServiceUnavailable("the SOC pipeline is full; retry shortly") from None
            self.stats.dropped += 1
            return
        self.stats.received += 1

    def submit(self, events: list[tuple[Mapping[str, object], str]]) -> None:
        """Queue events from the HTTP ingest; all or none (503 when there is no room)."""
        if self._queue.maxsize - self._queue.qsize() < len(events):
            raise ServiceUnavailable("the SOC pipeline is full; retry shortly")
        for event, raw in events:
            self._offer(event, raw, drop=False)

    async def _run(self) -> None:
        self._detector = await run_in_threadpool(self._load)
        self._ready.set()
        while True:
            batch = [await self._queue.get()]
            deadline = time.monotonic() + BATCH_SECONDS
            while len(batch) < BATCH_EVENTS:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            try:
                await run_in_threadpool(self._process, batch)
            except Exception:  # one bad batch must not stop the SOC; it is logged with its size
                log.exception("cyber.batch_failed", events=len(batch))

    def _load(self) -> Detector:
        folders = [BUILTIN_RULES, *self._settings.cyber_rules]
        ruleset = load_rules([f for f in folders if f.exists()])
        self.stats.rules_loaded = len(ruleset.rules)
        self.stats.rules_unsupported = len(ruleset.failures)
        log.info(
            "cyber.rules_loaded",
            rules=len(ruleset.rules),
            correlations=len(ruleset.correlations),
            unsupported=len(ruleset.failures),
        )
        return Detector(ruleset.rules, correlations=ruleset.correlations)

    def _process(self, batch: list[Arrival]) -> None:
        assert self._detector is not None  # set before the loop starts
        detections = self._detector.run(batch)
        self.stats.batches += 1
        if not detections:
            return
        now = datetime.now(UTC)
        auto = set(self._settings.cyber_auto_respond)
        with self._platform.db.write() as conn:
            recorded = alerts.record(conn, detections, now)
            changed = self._respond_automatically(conn, recorded.raised, auto, now) if auto else False
        done = time.monotonic()
        self.stats.alerts_raised += len(recorded.raised)
        self.stats.suppressed += recorded.suppressed
        oldest = min(a.monotonic for a in batch)
        self.stats.latencies.extend(done - oldest for _ in recorded.raised)
        self._platform.relay.notify()
        if changed:
            self.publisher.poke()

    def _respond_automatically(
        self, conn: Connection, raised: list[str], auto: set[str], now: datetime
    ) -> bool:
        """Block the source of a newly raised alert whose rule is marked for automatic response."""
        if not raised:
            return False
        rows = conn.execute(
            select(cyber_alerts.c.id, cyber_alerts.c.rule_id, cyber_alerts.c.source).where(
                cyber_alerts.c.id.in_(raised)
            )
        )
        acted = False
        for row in rows:
            kind = row.rule_id.split(":")[1] if row.rule_id.startswith("khusela-correlation:") else None
            if row.source is None or not (row.rule_id in auto or (kind is not None and kind in auto)):
                continue
            try:
                actions.propose(
                    conn,
                    actor=actions.SYSTEM,
                    kind="block_ip",
                    target=row.source,
                    reason=f"automatic response to alert {row.id} ({row.rule_id})",
                    now=now,
                    protected=self._settings.cyber_protected,
                    duration_hours=self._settings.cyber_block_hours,
                    alert_id=row.id,
                    automatic=True,
                )
                acted = True
            except Conflict:
                pass  # the source is already blocked (or proposed): nothing to add
            except InvalidInput as exc:  # e.g. a protected network: a person must decide
                log.warning("cyber.auto_response_refused", alert_id=row.id, reason=str(exc))
        return acted


def pipeline_of(platform: Platform) -> CyberPipeline:
    """This node's pipeline (one per platform)."""
    for service in platform.background:
        if isinstance(service, CyberPipeline):
            return service
    raise ServiceUnavailable("the SOC pipeline is not running on this node")


def services(platform: Platform) -> list[Background]:
    return [CyberPipeline(platform)]
