"""Health transitions and uptime arithmetic, without processes or a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from khusela.cctv.cameras import CameraStatus
from khusela.cctv.health import HealthMonitor, _spans
from khusela.cctv.video.source import SourceHealth
from khusela.cctv.worker_process import safe_reason

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _health(online: bool, state: str, error: str | None = None) -> SourceHealth:
    return SourceHealth(online, state, T0 if online else None, 5.0 if online else 0.0, 10, 0, error)


def test_transitions_only_on_change_and_a_new_reason_updates_without_an_event() -> None:
    monitor = HealthMonitor()
    assert monitor.observe("c", _health(False, "connecting"), T0) is None
    up = monitor.observe("c", _health(True, "online"), T0)
    assert up is not None
    assert up.status is CameraStatus.ONLINE
    assert up.changed
    assert monitor.observe("c", _health(True, "online"), T0) is None
    down = monitor.observe("c", _health(False, "offline", "no frames for 2.6 s"), T0)
    assert down is not None
    assert down.status is CameraStatus.OFFLINE
    assert down.reason == "no frames for 2.6 s"
    again = monitor.observe("c", _health(False, "offline", "cannot open: Connection refused"), T0)
    assert again is not None
    assert not again.changed
    assert monitor.observe("c", _health(False, "offline", "cannot open: Connection refused"), T0) is None
    crashed = monitor.fail("d", "worker crashed (exit code -9)", T0)
    assert crashed is not None
    assert crashed.changed


def test_spans_count_time_in_each_status_within_the_window() -> None:
    changes = [
        (T0 - timedelta(hours=1), "online"),
        (T0 + timedelta(minutes=30), "offline"),
        (T0 + timedelta(minutes=45), "online"),
        (T0 + timedelta(hours=3), "offline"),
    ]
    spans = _spans(changes, T0, T0 + timedelta(hours=1))
    assert spans == {"online": 45 * 60.0, "offline": 15 * 60.0}
    assert _spans([], T0, T0 + timedelta(seconds=10)) == {"unknown": 10.0}


def test_failure_reasons_never_carry_a_stream_url() -> None:
    reason = safe_reason(OSError("cannot reach rtsp://admin:hunter2@10.0.0.5/stream1 now"))
    assert "hunter2" not in reason
    assert "10.0.0.5" not in reason
    assert reason.startswith("OSError: cannot reach <url>")
