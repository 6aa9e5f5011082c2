"""Turn a pySigma condition tree into one plain Python predicate over a flat event dict.

Compiling happens once per rule: every string is lowered, every wildcard pattern becomes a compiled
regex or a ``startswith``/``endswith``/``in`` test, so matching an event is only closure calls. pySigma
has already applied the modifiers (``|windash``, ``|base64offset``, ``|wide`` …) and turned them into
its value types; this module only has to know those types. Anything it does not know raises
:class:`UnsupportedRule` so the caller can list the rule with the reason instead of dropping it.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Callable, Mapping

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from khusela.cyber.sigma.fields import canonical

Event = Mapping[str, object]
Matcher = Callable[[Event], bool]
ValueTest = Callable[[object], bool]
Tree = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression | None


class UnsupportedRule(Exception):
    """A rule uses a construct this engine cannot evaluate; the message says which."""


def compile_tree(tree: Tree) -> Matcher:
    """A predicate equivalent to the postprocessed condition ``tree`` (``SigmaCondition.parsed``)."""
    if isinstance(tree, ConditionAND):
        parts = [compile_tree(arg) for arg in tree.args]
        return lambda event: all(part(event) for part in parts)
    if isinstance(tree, ConditionOR):
        parts = _grouped_or(tree.args)
        if len(parts) == 1:
            return parts[0]
        return lambda event: any(part(event) for part in parts)
    if isinstance(tree, ConditionNOT):
        inner = compile_tree(tree.args[0])
        return lambda event: not inner(event)
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return _field_matcher(canonical(tree.field), tree.value)
    if isinstance(tree, ConditionValueExpression):
        return _keyword_matcher(tree.value)
    raise UnsupportedRule(f"condition element {type(tree).__name__}")


def _field_matcher(name: str, value: SigmaType) -> Matcher:
    if isinstance(value, SigmaNull):
        return lambda event: event.get(name) in (None, "")
    if isinstance(value, SigmaExists):
        wanted = bool(value)
        return lambda event: (name in event) == wanted
    if isinstance(value, SigmaFieldReference):
        return _field_reference(name, value)
    if isinstance(value, SigmaExpansion):
        if all(_is_value_test(item) for item in value.values):
            return _value_group(name, _flat_values(value))
        parts = [_field_matcher(name, item) for item in value.values]
        return lambda event: any(part(event) for part in parts)
    test = value_test(value)

    def match(event: Event) -> bool:
        found = event.get(name)
        return found is not None and test(found)

    return match


def _keyword_matcher(value: SigmaType) -> Matcher:
    """Field-less values search every field's text, as Sigma keyword lists do over the raw message."""
    return _keyword_group(_flat_values(value))


def _flat_values(value: SigmaType) -> list[SigmaType]:
    if isinstance(value, SigmaExpansion):
        return [item for inner in value.values for item in _flat_values(inner)]
    return [value]


def _is_value_test(value: SigmaType) -> bool:
    if isinstance(value, SigmaExpansion):
        return all(_is_value_test(item) for item in value.values)
    return not isinstance(value, (SigmaNull, SigmaExists, SigmaFieldReference))


def _grouped_or(args: list[Tree]) -> list[Matcher]:
    """An OR's alternatives, with those testing the same field (or keywords) merged into one matcher.

    pySigma turns a value list into an OR of one comparison per value; merged, the field is read and
    lowered once and plain literals are tested as a set lookup and tuple ``startswith``/``endswith``.
    """
    by_field: dict[str, list[SigmaType]] = {}
    keywords: list[SigmaType] = []
    parts: list[Matcher] = []
    for arg in args:
        if isinstance(arg, ConditionFieldEqualsValueExpression) and _is_value_test(arg.value):
            by_field.setdefault(canonical(arg.field), []).extend(_flat_values(arg.value))
        elif isinstance(arg, ConditionValueExpression):
            keywords.extend(_flat_values(arg.value))
        else:
            parts.append(compile_tree(arg))
    parts.extend(_value_group(name, values) for name, values in by_field.items())
    if keywords:
        parts.append(_keyword_group(keywords))
    return parts


class _Literals:
    """Uncased plain strings of one OR group, by shape, tested on the once-lowered text."""

    def __init__(self) -> None:
        self.equal: set[str] = set()
        self.prefix: list[str] = []
        self.suffix: list[str] = []
        self.contains: list[str] = []
        self.others: list[ValueTest] = []

    def add(self, value: SigmaType) -> None:
        shape = _literal_shape(value)
        if shape is None:
            self.others.append(value_test(value))
        else:
            kind, text = shape
            {"eq": self.equal.add, "start": self.prefix.append, "end": self.suffix.append}.get(
                kind, self.contains.append
            )(text)

    def test(self) -> Callable[[object], bool]:
        equal, prefix, suffix = frozenset(self.equal), tuple(self.prefix), tuple(self.suffix)
        contains, others = tuple(self.contains), tuple(self.others)

        def test(found: object) -> bool:
            text = found.lower() if type(found) is str else str(found).lower()
            if text in equal or (prefix and text.startswith(prefix)) or (suffix and text.endswith(suffix)):
                return True
            for needle in contains:
                if needle in text:
                    return True
            return any(other(found) for other in others)

        return test


def _literal_shape(value: SigmaType) -> tuple[str, str] | None:  # noqa: PLR0911 - one case per shape
    """``(kind, lowered literal)`` for an uncased string that is exact, prefix*, *suffix or *infix*."""
    if not isinstance(value, SigmaString) or isinstance(value, SigmaCasedString):
        return None
    if value.contains_placeholder():
        raise UnsupportedRule("placeholder value (%name%) needs a pipeline")
    parts = list(value.s)
    multi = SpecialChars.WILDCARD_MULTI
    if any(not isinstance(p, str) and p is not multi for p in parts):
        return None
    inner = [p for p in parts if isinstance(p, str)]
    if len(inner) > 1 or (parts and all(p is multi for p in parts)):
        return None
    text = inner[0].lower() if inner else ""
    if parts == inner:
        return ("eq", text)
    if len(parts) == 2:
        return ("end", text) if parts[0] is multi else ("start", text)
    if len(parts) == 3 and parts[0] is multi and parts[2] is multi:
        return ("in", text)
    return None


def _value_group(name: str, values: list[SigmaType]) -> Matcher:
    literals = _Literals()
    for value in values:
        literals.add(value)
    test = literals.test()

    def match(event: Event) -> bool:
        found = event.get(name)
        return found is not None and test(found)

    return match


def _keyword_group(values: list[SigmaType]) -> Matcher:
    """Field-less values search every field's text, as Sigma keyword lists do over the raw message."""
    literals = _Literals()
    for value in values:
        literals.add(_unanchored(value) if isinstance(value, SigmaString) else value)
    test = literals.test()
    return lambda event: any(test(found) for found in event.values() if found is not None)


def _unanchored(value: SigmaString) -> SigmaString:
    """Keywords match anywhere in the text, as backends search a raw message for them."""
    parts = list(value.s)
    if not parts or parts[0] is not SpecialChars.WILDCARD_MULTI:
        parts.insert(0, SpecialChars.WILDCARD_MULTI)
    if parts[-1] is not SpecialChars.WILDCARD_MULTI:
        parts.append(SpecialChars.WILDCARD_MULTI)
    widened = copy.copy(value)
    widened.s = parts
    return widened


def _field_reference(name: str, ref: SigmaFieldReference) -> Matcher:
    other = canonical(ref.field)

    def match(event: Event) -> bool:
        left, right = event.get(name), event.get(other)
        if left is None or right is None:
            return False
        a, b = str(left).lower(), str(right).lower()
        if ref.starts_with:
            return a.startswith(b)
        if ref.ends_with:
            return a.endswith(b)
        return a == b

    return match


def value_test(value: SigmaType) -> ValueTest:
    """A test of one event value against one Sigma value (strings compare case-insensitively)."""
    if isinstance(value, SigmaString):
        return _string_test(value)
    if isinstance(value, SigmaNumber):
        number, text = value.number, str(value.number)
        return lambda found: found == number if isinstance(found, (int, float)) else str(found) == text
    if isinstance(value, SigmaBool):
        flag = bool(value)
        return lambda found: found is flag or str(found).lower() == str(flag).lower()
    if isinstance(value, SigmaRegularExpression):
        return _regex_test(value)
    if isinstance(value, SigmaCIDRExpression):
        return _cidr_test(value)
    if isinstance(value, SigmaCompareExpression):
        return _compare_test(value)
    raise UnsupportedRule(f"value type {type(value).__name__}")


def _string_test(value: SigmaString) -> ValueTest:
    if value.contains_placeholder():
        raise UnsupportedRule("placeholder value (%name%) needs a pipeline")
    cased = isinstance(value, SigmaCasedString)
    parts = [p if cased or not isinstance(p, str) else p.lower() for p in value.s]
    fold: Callable[[str], str] = (lambda s: s) if cased else str.lower
    plain = [p for p in parts if isinstance(p, str)]
    multi = SpecialChars.WILDCARD_MULTI
    if not any(p is SpecialChars.WILDCARD_SINGLE for p in parts):
        if all(isinstance(p, str) for p in parts):
            text = "".join(plain)
            return lambda found: fold(str(found)) == text
        if len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
            suffix = parts[1]
            return lambda found: fold(str(found)).endswith(suffix)
        if len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
            prefix = parts[0]
            return lambda found: fold(str(found)).startswith(prefix)
        if len(parts) == 3 and parts[0] is multi and parts[2] is multi and isinstance(parts[1], str):
            needle = parts[1]
            return lambda found: needle in fold(str(found))
    pattern = "".join(re.escape(p) if isinstance(p, str) else (".*" if p is multi else ".") for p in parts)
    compiled = re.compile(pattern, re.DOTALL if cased else re.DOTALL | re.IGNORECASE)
    return lambda found: compiled.fullmatch(str(found)) is not None


_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


def _regex_test(value: SigmaRegularExpression) -> ValueTest:
    flags = 0
    for flag in value.flags:
        flags |= _RE_FLAGS[flag]
    try:
        compiled = re.compile(str(value.regexp), flags)
    except re.error as exc:
        raise UnsupportedRule(
            f"regular expression {value.regexp!s} does not compile in Python: {exc}"
        ) from exc
    return lambda found: compiled.search(str(found)) is not None


def _cidr_test(value: SigmaCIDRExpression) -> ValueTest:
    network = value.network

    def test(found: object) -> bool:
        try:
            return ipaddress.ip_address(str(found).strip()) in network
        except ValueError:
            return False

    return test


def _compare_test(value: SigmaCompareExpression) -> ValueTest:
    limit = value.number.number
    ops: dict[str, Callable[[float, float], bool]] = {
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
        "NEQ": lambda a, b: a != b,
    }
    op = ops[value.op.name]

    def test(found: object) -> bool:
        try:
            return op(float(str(found)), limit)
        except ValueError:
            return False

    return test
