"""Literal prefilter: for each rule, a few cheap tests of which at least one holds whenever it matches.

Most of a logsource's rules are irrelevant to any one event: ``Image|endswith: '\\certutil.exe'``
cannot match unless the event's image is ``certutil.exe``. :func:`anchors` walks a rule's condition
and returns such a set of *anchors* — (field, kind, lowered literal) — chosen so that the rule can
only match an event for which at least one anchor holds. The router indexes anchors by value and
calls a rule's real matcher only when one of them hits, so the prefilter never changes a result, it
only skips rules that cannot fire.

Within an AND the cheapest child's anchors suffice; an OR needs all children's; a NOT gives nothing.
Fields whose value is the same for every event in a router bucket (``Channel``, ``EventID``,
``EventType``) are decided up front from ``static``: a rule whose ``EventID: 4624`` meets a 4688
bucket is dropped from it, and a satisfied one no longer needs an anchor there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaExpansion,
    SigmaNumber,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from khusela.cyber.sigma.compile import Tree, UnsupportedRule, value_test
from khusela.cyber.sigma.fields import canonical

KEYWORD = ""  # the field name of an anchor on field-less keywords (searched in every value)


class Kind(Enum):
    EQUAL = "eq"  # lowered value == literal
    NAME = "name"  # text after the last backslash == literal (``endswith: '\\x.exe'``)
    SUFFIX = "end"
    PREFIX = "start"
    CONTAINS = "in"


_COST = {Kind.EQUAL: 1.0, Kind.NAME: 1.0, Kind.PREFIX: 2.0, Kind.SUFFIX: 2.0, Kind.CONTAINS: 4.0}


@dataclass(frozen=True, slots=True)
class Anchor:
    field: str
    kind: Kind
    literal: str


class _Always:
    """The condition holds for every event of the bucket (decided from ``static``)."""


class _Never:
    """The condition cannot hold for any event of the bucket."""


class _Unknown:
    """No anchor can be given (NOT, regex, numeric comparison …): the rule is always a candidate."""


ALWAYS, NEVER, UNKNOWN = _Always(), _Never(), _Unknown()
Result = frozenset[Anchor] | _Always | _Never | _Unknown


Cache = dict[int, tuple[Tree, Result]]


def anchors(trees: list[Tree], static: Mapping[str, object], cache: Cache | None = None) -> Result:
    """Anchors for a rule with these condition trees (any of them may match), given ``static`` fields.

    ``cache`` (kept by the caller across buckets) remembers the result of every subtree that tests
    none of the ``static`` fields: only the parts that depend on the bucket are worked out again.
    """
    memo: Cache = cache if cache is not None else {}
    return _or([_walk(tree, static, memo) for tree in trees])


def field_names(tree: Tree) -> Iterator[str]:
    """Every (canonical) field name ``tree`` tests."""
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        yield canonical(tree.field)
    elif isinstance(tree, (ConditionAND, ConditionOR, ConditionNOT)):
        for arg in tree.args:
            yield from field_names(arg)


def cost(found: frozenset[Anchor]) -> float:
    """Rough price of checking ``found`` per event; short substrings hit often, so cost more."""
    total = 0.0
    for anchor in found:
        price = _COST[anchor.kind] * (3.0 if anchor.field == KEYWORD else 1.0)
        if anchor.kind is not Kind.EQUAL and len(anchor.literal) < 4:
            price *= 4
        total += price
    return total


def _walk(tree: Tree, static: Mapping[str, object], memo: Cache) -> Result:
    key = id(tree)
    known = memo.get(key)
    if known is not None and known[0] is tree:
        return known[1]
    result = _compute(tree, static, memo)
    if not _uses(tree, static):
        memo[key] = (tree, result)  # the tree itself is kept so its id cannot be reused
    return result


_USED: dict[int, tuple[Tree, frozenset[str]]] = {}


def _uses(tree: Tree, static: Mapping[str, object]) -> bool:
    known = _USED.get(id(tree))
    if known is None or known[0] is not tree:
        known = (tree, frozenset(field_names(tree)))
        if len(_USED) < 1_000_000:
            _USED[id(tree)] = known
    return any(name in static for name in known[1])


def _compute(tree: Tree, static: Mapping[str, object], memo: Cache) -> Result:  # noqa: PLR0911 - one case per node type
    if isinstance(tree, ConditionAND):
        return _and([_walk(arg, static, memo) for arg in tree.args])
    if isinstance(tree, ConditionOR):
        return _or([_walk(arg, static, memo) for arg in tree.args])
    if isinstance(tree, ConditionNOT):
        inner = _walk(tree.args[0], static, memo)
        return NEVER if inner is ALWAYS else ALWAYS if inner is NEVER else UNKNOWN
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        field = canonical(tree.field)
        if field in static:
            return _decide(field, tree.value, static)
        return _value(field, tree.value)
    if isinstance(tree, ConditionValueExpression):
        return _value(KEYWORD, tree.value)
    return UNKNOWN


def _and(parts: list[Result]) -> Result:
    if any(part is NEVER for part in parts):
        return NEVER
    sets = [part for part in parts if isinstance(part, frozenset)]
    if sets:
        return min(sets, key=cost)
    return ALWAYS if all(part is ALWAYS for part in parts) else UNKNOWN


def _or(parts: list[Result]) -> Result:
    parts = [part for part in parts if part is not NEVER]
    if not parts:
        return NEVER
    if any(part is ALWAYS for part in parts):
        return ALWAYS
    if any(part is UNKNOWN for part in parts):
        return UNKNOWN
    union: set[Anchor] = set()
    for part in parts:
        assert isinstance(part, frozenset)
        union |= part
    return frozenset(union)


def _decide(field: str, value: SigmaType, static: Mapping[str, object]) -> Result:
    """Evaluate a test on a field that is constant over the bucket, exactly as the matcher would."""
    if isinstance(value, SigmaExpansion):
        return _or([_decide(field, item, static) for item in value.values])
    try:
        test = value_test(value)
    except UnsupportedRule:
        return UNKNOWN
    found = static[field]
    return ALWAYS if found is not None and test(found) else NEVER


def _value(field: str, value: SigmaType) -> Result:
    if isinstance(value, SigmaExpansion):
        return _or([_value(field, item) for item in value.values])
    if isinstance(value, SigmaString):
        return _string(field, value)
    if isinstance(value, SigmaNumber) and field != KEYWORD:
        number = value.number
        texts = {str(number).lower()}
        if isinstance(number, float) and number.is_integer():
            texts.add(str(int(number)))
        return frozenset(Anchor(field, Kind.EQUAL, text) for text in texts)
    return UNKNOWN


def _string(field: str, value: SigmaString) -> Result:
    # Cased strings are anchored on their lowered text too: equal text implies equal lowered text.
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part.lower()
        else:
            parts.append(part.lower() if isinstance(part, str) else part)  # type: ignore[arg-type]
    multi = SpecialChars.WILDCARD_MULTI
    literals = [p for p in parts if isinstance(p, str)]
    if field != KEYWORD and len(literals) == len(parts):
        return frozenset({Anchor(field, Kind.EQUAL, "".join(literals))})
    if field != KEYWORD and len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
        suffix = parts[1]
        if suffix.startswith("\\") and "\\" not in suffix[1:]:
            return frozenset({Anchor(field, Kind.NAME, suffix[1:])})
        return frozenset({Anchor(field, Kind.SUFFIX, suffix)}) if suffix else UNKNOWN
    if field != KEYWORD and len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
        return frozenset({Anchor(field, Kind.PREFIX, parts[0])}) if parts[0] else UNKNOWN
    longest = max(literals, key=len, default="")
    if not longest:
        return UNKNOWN
    return frozenset({Anchor(field, Kind.CONTAINS, longest)})
