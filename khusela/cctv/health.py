"""Camera health: online/offline with the reason, every transition recorded, and uptime.

A worker's source reports its health twice a second. `HealthMonitor` (no I/O) turns those
reports into transitions: online when frames flow, offline — with the reason the source
gave (connection refused, stream ended, no frames for 2.6 s, read failed …) — when they
stop. `record_transition` writes one transition: the camera row's status, the
`camera_status_changes` row and the `cctv.camera_online|offline` event, in one
transaction, so the console, the history and the bus never disagree.

Uptime is computed from the transitions: the share of the observed time a camera was
online. Time before a camera's first transition, or while no worker watched it
(status `unknown`), is reported apart and not counted against the camera.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.bus.outbox import enqueue
from khusela.cctv.cameras import CameraStatus, camera_columns
from khusela.cctv.tables import camera_status_changes, cameras
from khusela.cctv.video.source import SourceHealth
from khusela.core.clock import as_utc
from khusela.core.errors import InvalidInput
from khusela.core.events import Event
from khusela.identity.model import Principal
from khusela.identity.policy import Action, read_filter
from khusela.identity.tables import agencies

CAMERA_ONLINE = "cctv.camera_online"
CAMERA_OFFLINE = "cctv.camera_offline"
LAST_FRAME_EVERY_S = 10.0
"""How often a healthy camera's `last_frame_at` is written (not on every frame)."""


@dataclass(frozen=True, slots=True)
class Transition:
    camera_id: str
    status: CameraStatus
    reason: str | None
    at: datetime
    last_frame_at: datetime | None
    changed: bool = True
    """False when only the reason changed (still offline): the row is updated, no event."""


@dataclass(slots=True)
class CameraHealth:
    """What this node knows of one camera right now (kept in memory, not in `cameras`)."""

    status: CameraStatus = CameraStatus.UNKNOWN
    reason: str | None = None
    last_frame_at: datetime | None = None
    measured_fps: float = 0.0
    frames: int = 0
    reconnects: int = 0
    restarts: int = 0
    reported_at: datetime | None = None
    last_written: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason,
            "last_frame_at": self.last_frame_at,
            "measured_fps": self.measured_fps,
            "frames": self.frames,
            "reconnects": self.reconnects,
            "restarts": self.restarts,
        }


@dataclass
class HealthMonitor:
    """Reports in, transitions out. Thread-safe enough: each camera is fed by one thread."""

    cameras: dict[str, CameraHealth] = field(default_factory=dict)

    def get(self, camera_id: str) -> CameraHealth:
        return self.cameras.setdefault(camera_id, CameraHealth())

    def observe(self, camera_id: str, health: SourceHealth, now: datetime) -> Transition | None:
        """Take one report; a transition when the camera went online or offline."""
        card = self.get(camera_id)
        card.measured_fps, card.frames, card.reported_at = health.measured_fps, health.frames, now
        card.reconnects = health.reconnects
        if health.last_frame_at is not None:
            card.last_frame_at = health.last_frame_at
        if health.online:
            return self._to(camera_id, CameraStatus.ONLINE, None, now)
        if health.state in ("offline", "ended"):
            reason = health.last_error or ("stream ended" if health.state == "ended" else "no frames")
            return self._to(camera_id, CameraStatus.OFFLINE, reason, now)
        return None  # connecting or closed: nothing known yet

    def fail(self, camera_id: str, reason: str, now: datetime) -> Transition | None:
        """The worker itself failed (crashed, hung): the camera is offline for that reason."""
        return self._to(camera_id, CameraStatus.OFFLINE, reason, now)

    def _to(
        self, camera_id: str, status: CameraStatus, reason: str | None, now: datetime
    ) -> Transition | None:
        card = self.get(camera_id)
        if card.status is status and (status is CameraStatus.ONLINE or card.reason == reason):
            return None
        changed = card.status is not status
        card.status, card.reason = status, reason
        card.last_written = now
        return Transition(camera_id, status, reason, now, card.last_frame_at, changed)

    def last_frame_due(self, camera_id: str, now: datetime) -> datetime | None:
        """`last_frame_at` to write now, at most every `LAST_FRAME_EVERY_S` while online."""
        card = self.get(camera_id)
        if card.status is not CameraStatus.ONLINE or card.last_frame_at is None:
            return None
        if card.last_written is not None and (now - card.last_written).total_seconds() < LAST_FRAME_EVERY_S:
            return None
        card.last_written = now
        return card.last_frame_at


def record_transition(conn: Connection, camera: dict[str, Any], transition: Transition) -> Event | None:
    """Write a transition in the caller's transaction: the camera row, the history row and
    (when the status changed, not just its reason) the event. A disabled camera is left
    alone: an administrator's decision outranks a worker's last report."""
    values: dict[str, Any] = {"status": transition.status.value, "status_reason": transition.reason}
    if transition.last_frame_at is not None:
        values["last_frame_at"] = transition.last_frame_at
    done = conn.execute(
        update(cameras)
        .where(cameras.c.id == transition.camera_id, cameras.c.status != CameraStatus.DISABLED.value)
        .values(**values)
    )
    if not done.rowcount or not transition.changed:
        return None
    conn.execute(
        insert(camera_status_changes).values(
            camera_id=transition.camera_id,
            status=transition.status.value,
            reason=transition.reason,
            at=transition.at,
        )
    )
    if transition.status not in (CameraStatus.ONLINE, CameraStatus.OFFLINE):
        return None
    event = Event(
        subject=CAMERA_ONLINE if transition.status is CameraStatus.ONLINE else CAMERA_OFFLINE,
        payload={
            **camera_locality(camera),
            "status": transition.status.value,
            "reason": transition.reason,
            "at": as_utc(transition.at).isoformat(),
            "last_frame_at": as_utc(transition.last_frame_at).isoformat()
            if transition.last_frame_at
            else None,
        },
        occurred_at=transition.at,
    )
    enqueue(conn, event)
    return event


def record_last_frame(conn: Connection, camera_id: str, at: datetime) -> None:
    conn.execute(update(cameras).where(cameras.c.id == camera_id).values(last_frame_at=at))


def camera_locality(camera: dict[str, Any]) -> dict[str, Any]:
    """What every `cctv.*` event carries so the feed can apply the policy without a read."""
    return {
        "camera_id": camera["id"],
        "camera_name": camera["name"],
        "agency_id": camera["owner_agency_id"],
        "province": camera.get("province"),
        "municipality": camera.get("municipality"),
        "cell": camera.get("cell"),
        "lat": camera["lat"],
        "lon": camera["lon"],
    }


# --- uptime --------------------------------------------------------------------------------


class GroupBy(StrEnum):
    CAMERA = "camera"
    OWNER = "owner"


@dataclass(slots=True)
class Uptime:
    key: str
    name: str
    cameras: int = 0
    online_s: float = 0.0
    offline_s: float = 0.0
    unknown_s: float = 0.0

    @property
    def share(self) -> float | None:
        observed = self.online_s + self.offline_s
        return round(self.online_s / observed, 6) if observed > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "cameras": self.cameras,
            "online_s": round(self.online_s, 3),
            "offline_s": round(self.offline_s, 3),
            "unknown_s": round(self.unknown_s, 3),
            "uptime": self.share,
        }


def _spans(changes: list[tuple[datetime, str]], since: datetime, until: datetime) -> dict[str, float]:
    """Seconds per status within [since, until), from transitions sorted by time; the
    status before the first transition is unknown."""
    out: dict[str, float] = defaultdict(float)
    status, start = CameraStatus.UNKNOWN.value, since
    for when, new in changes:
        at = as_utc(when)
        if at <= since:
            status = new
            continue
        if at >= until:
            break
        out[status] += (at - start).total_seconds()
        status, start = new, at
    out[status] += (until - start).total_seconds()
    return out


def uptime(
    conn: Connection, viewer: Principal, since: datetime, until: datetime, group_by: GroupBy = GroupBy.CAMERA
) -> list[dict[str, Any]]:
    """Share of time online per camera (or per owning agency) the viewer may see."""
    since, until = as_utc(since), as_utc(until)
    if until <= since:
        raise InvalidInput("until must be after since")
    if until - since > timedelta(days=366):
        raise InvalidInput("ask for at most a year at a time")
    visible = {
        r.id: r
        for r in conn.execute(
            select(cameras.c.id, cameras.c.name, cameras.c.owner_agency_id, agencies.c.name.label("owner"))
            .join(agencies, agencies.c.id == cameras.c.owner_agency_id)
            .where(read_filter(viewer, Action.CCTV_READ, camera_columns(viewer)))
        )
    }
    history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    if visible:
        rows = conn.execute(
            select(
                camera_status_changes.c.camera_id, camera_status_changes.c.at, camera_status_changes.c.status
            )
            .where(
                camera_status_changes.c.at < until,
                camera_status_changes.c.camera_id.in_(list(visible)),
            )
            .order_by(
                camera_status_changes.c.camera_id, camera_status_changes.c.at, camera_status_changes.c.id
            )
        )
        for camera_id, at, status in rows:
            history[camera_id].append((at, status))
    groups: dict[str, Uptime] = {}
    for camera_id, row in visible.items():
        key = camera_id if group_by is GroupBy.CAMERA else row.owner_agency_id
        name = row.name if group_by is GroupBy.CAMERA else row.owner
        group = groups.setdefault(key, Uptime(key, name))
        spans = _spans(history.get(camera_id, []), since, until)
        group.cameras += 1
        group.online_s += spans.get(CameraStatus.ONLINE.value, 0.0)
        group.offline_s += spans.get(CameraStatus.OFFLINE.value, 0.0)
        group.unknown_s += sum(v for k, v in spans.items() if k not in ("online", "offline"))
    return [g.as_dict() for g in sorted(groups.values(), key=lambda g: (g.name, g.key))]
