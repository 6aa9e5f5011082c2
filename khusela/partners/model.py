"""The partners module's vocabulary and its rules that need no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum

SAST = timezone(timedelta(hours=2), "SAST")
"""Quarters and due dates are South African calendar days (UTC+2, no daylight saving)."""


class AgreementType(StrEnum):
    COOPERATION = "cooperation"
    IMPLEMENTATION = "implementation"
    MOU = "mou"
    SERVICE_LEVEL = "service_level"


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class AreaKind(StrEnum):
    """Areas of collaboration. Three of them drive rules elsewhere (`partners.rules`)."""

    INFORMATION_SHARING = "information_sharing"
    JOINT_OPERATIONS = "joint_operations"
    CCTV_INTEGRATION = "cctv_integration"
    DISPATCH = "dispatch"
    BYLAW_ENFORCEMENT = "bylaw_enforcement"
    TRAINING = "training"
    COMMUNITY_SAFETY = "community_safety"
    OTHER = "other"


class CommitmentStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Direction(StrEnum):
    """Whether the indicator should reach at least, or stay at most, its target."""

    AT_LEAST = "at_least"
    AT_MOST = "at_most"


class OperationStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    CLOSED = "closed"


class LinkKind(StrEnum):
    """What can be pinned to an operation's shared timeline, by the other module's id."""

    PANIC_ALERT = "panic_alert"
    CCTV_EVENT = "cctv_event"
    CYBER_ALERT = "cyber_alert"
    INCIDENT = "incident"
    """A recorded incident in the risk analytics' log (time, place and category only)."""


class OutcomeKind(StrEnum):
    ARREST = "arrest"
    SEIZURE = "seizure"
    MINING_SITE_CLOSED = "mining_site_closed"
    BYLAW_NOTICE = "bylaw_notice"
    OTHER = "other"


class TipStatus(StrEnum):
    NEW = "new"
    REVIEWING = "reviewing"
    ACTIONED = "actioned"
    CLOSED = "closed"


class TipCategory(StrEnum):
    CRIME = "crime"
    DRUGS = "drugs"
    GBV = "gbv"
    CORRUPTION = "corruption"
    ILLEGAL_MINING = "illegal_mining"
    BYLAW = "bylaw"
    OTHER = "other"


AT_RISK_WINDOW = timedelta(days=30)
"""A commitment due within this window and less than `AT_RISK_PERCENT` done is at risk."""
AT_RISK_PERCENT = 75
STALE_AFTER = timedelta(days=90)
"""An open commitment with no progress report for this long is at risk: nobody is watching it."""


class Health(StrEnum):
    """How an open commitment stands for the oversight dashboard."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class LatestProgress:
    at: datetime
    percent: int
    on_track: bool


def health(  # noqa: PLR0911 - one return per state, in order of precedence
    status: CommitmentStatus, due_on: date, latest: LatestProgress | None, today: date
) -> Health:
    """Overdue beats at risk; the reporter's own "not on track" is believed at once."""
    if status is CommitmentStatus.DELIVERED:
        return Health.DELIVERED
    if status is CommitmentStatus.CANCELLED:
        return Health.CANCELLED
    if due_on < today:
        return Health.OVERDUE
    if latest is None:
        return Health.AT_RISK if due_on - today <= AT_RISK_WINDOW else Health.ON_TRACK
    if not latest.on_track:
        return Health.AT_RISK
    if due_on - today <= AT_RISK_WINDOW and latest.percent < AT_RISK_PERCENT:
        return Health.AT_RISK
    if today - latest.at.astimezone(SAST).date() > STALE_AFTER:
        return Health.AT_RISK
    return Health.ON_TRACK


def meets(value: float | None, target: float | None, direction: Direction) -> bool | None:
    """Whether a figure meets its target; None when either is unknown."""
    if value is None or target is None:
        return None
    return value >= target if direction is Direction.AT_LEAST else value <= target


_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Read ``2026Q3`` (or ``2026-Q3``); calendar quarters, as the agreements report them."""
        match = _QUARTER.match(text.strip())
        if not match:
            raise ValueError(f"a quarter is written like 2026Q3, not {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        nxt = date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)
        return nxt - timedelta(days=1)

    @property
    def since(self) -> datetime:
        """Midnight SAST on the first day, as UTC."""
        return datetime.combine(self.first_day, datetime.min.time(), SAST).astimezone(UTC)

    @property
    def until(self) -> datetime:
        """Midnight SAST after the last day, as UTC (exclusive)."""
        return datetime.combine(self.last_day + timedelta(days=1), datetime.min.time(), SAST).astimezone(UTC)


def today_in_sa(now: datetime) -> date:
    return now.astimezone(SAST).date()
