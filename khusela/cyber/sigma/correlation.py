"""Sigma correlation rules (`event_count`, `value_count`) evaluated over the detection stream.

A correlation rule names base rules (by id or `name`), fields to group by, a timespan and a
condition such as `gte: 10`. Where a rule set writes its correlations this way, they run
here; the built-in correlator (`khusela.cyber.correlate`) covers the common attacks for
logs that come without such rules. Each group keeps a window of recent matches; once the
condition holds, the correlation fires, and further matches while the window stays active
add to the same firing (`count`) instead of firing again.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule, SigmaCorrelationType

from khusela.cyber.sigma.compile import UnsupportedRule

_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
    "eq": operator.eq,
}


@dataclass(frozen=True, slots=True)
class CompiledCorrelation:
    """What the evaluator needs from a correlation rule."""

    id: str
    title: str
    author: str | None
    level: str | None
    tags: tuple[str, ...]
    kind: str
    rules: frozenset[str]
    group_by: tuple[str, ...]
    timespan: timedelta
    condition: Callable[[int, int], bool]
    threshold: int
    value_field: str | None
    path: str

    def satisfied(self, measure: int) -> bool:
        return self.condition(measure, self.threshold)


def compile_correlation(rule: SigmaCorrelationRule, path: str = "<memory>") -> CompiledCorrelation:
    """Raise :class:`UnsupportedRule` for the correlation types this evaluator does not run."""
    if rule.type not in (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.VALUE_COUNT):
        raise UnsupportedRule(f"correlation type {rule.type.name.lower()} is not supported")
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition) or condition.op.name.lower() not in _OPERATORS:
        raise UnsupportedRule("the correlation's condition is not a single supported comparison")
    op = condition.op.name.lower()
    value_field = condition.fieldref if rule.type is SigmaCorrelationType.VALUE_COUNT else None
    if rule.type is SigmaCorrelationType.VALUE_COUNT and not value_field:
        raise UnsupportedRule("a value_count correlation needs a field")
    names = frozenset(str(reference.reference) for reference in rule.rules or ())
    if not names:
        raise UnsupportedRule("the correlation names no rules")
    return CompiledCorrelation(
        id=str(rule.id) if rule.id else path,
        title=rule.title,
        author=rule.author,
        level=rule.level.name.lower() if rule.level else None,
        tags=tuple(f"{tag.namespace}.{tag.name}" for tag in rule.tags),
        kind=rule.type.name.lower(),
        rules=names,
        group_by=tuple(rule.group_by or ()),
        timespan=timedelta(seconds=rule.timespan.seconds),
        condition=_OPERATORS[op],
        threshold=int(condition.count),
        value_field=str(value_field) if value_field else None,
        path=path,
    )


@dataclass
class Firing:
    """A correlation that fired for one group; `count` grows while its window stays active."""

    correlation: CompiledCorrelation
    group: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    count: int
    measure: int
    samples: list[Mapping[str, object]] = field(default_factory=list)
    reported: int = 0
    """How much of `count` the live pipeline has already turned into alerts."""


@dataclass
class _Window:
    items: deque[tuple[datetime, str, Mapping[str, object]]] = field(default_factory=deque)
    firing: Firing | None = None


class CorrelationEngine:
    """Feed each base-rule match in time order; read new and grown firings from `feed`."""

    def __init__(self, correlations: Iterable[CompiledCorrelation], samples: int = 5) -> None:
        self.correlations = list(correlations)
        self._by_rule: dict[str, list[CompiledCorrelation]] = {}
        for correlation in self.correlations:
            for name in correlation.rules:
                self._by_rule.setdefault(name, []).append(correlation)
        self._windows: dict[tuple[str, tuple[str, ...]], _Window] = {}
        self._samples = samples
        self.latest: datetime | None = None

    def watches(self, rule_id: str, rule_name: str | None) -> bool:
        return rule_id in self._by_rule or (rule_name is not None and rule_name in self._by_rule)

    def feed(
        self, rule_id: str, rule_name: str | None, event: Mapping[str, object], when: datetime
    ) -> list[Firing]:
        """Account one match of base rule (`rule_id`/`rule_name`); returns firings it created or grew."""
        found = list(self._by_rule.get(rule_id, ()))
        if rule_name is not None:
            found += [c for c in self._by_rule.get(rule_name, ()) if c not in found]
        changed = []
        if self.latest is None or when > self.latest:
            self.latest = when
        for correlation in found:
            group = tuple(str(event.get(name, "")) for name in correlation.group_by)
            window = self._windows.setdefault((correlation.id, group), _Window())
            value = str(event.get(correlation.value_field, "")) if correlation.value_field else ""
            window.items.append((when, value, event))
            while window.items and window.items[0][0] < when - correlation.timespan:
                window.items.popleft()
            firing = window.firing
            if firing is not None and when - firing.last_seen <= correlation.timespan:
                firing.count += 1
                firing.last_seen = when
                changed.append(firing)
                continue
            measure = len({v for _, v, _ in window.items}) if correlation.value_field else len(window.items)
            if not correlation.satisfied(measure):
                continue
            window.firing = Firing(
                correlation=correlation,
                group=group,
                first_seen=window.items[0][0],
                last_seen=when,
                count=len(window.items),
                measure=measure,
                samples=[e for _, _, e in list(window.items)[: self._samples]],
            )
            changed.append(window.firing)
        return changed

    def forget_idle(self, horizon: timedelta) -> int:
        """Drop the windows (and their firings) of groups with no match for `horizon` of event
        time before the newest match; returns how many. A long-running pipeline sees ever new
        source addresses, and without this it would keep every one of them."""
        if self.latest is None:
            return 0
        longest = max((c.timespan for c in self.correlations), default=horizon)
        cutoff = self.latest - max(horizon, longest)  # never inside a window still counting
        idle = [
            key for key, window in self._windows.items() if not window.items or window.items[-1][0] < cutoff
        ]
        for key in idle:
            del self._windows[key]
        return len(idle)
