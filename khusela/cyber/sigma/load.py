"""Load Sigma rule files into compiled rules, listing every rule we cannot use and why.

A detection engine that silently skips rules gives false comfort, so each file either becomes a
:class:`CompiledRule` or a :class:`RuleFailure` with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from khusela.cyber.sigma.compile import Event, Matcher, Tree, UnsupportedRule, compile_tree
from khusela.cyber.sigma.correlation import CompiledCorrelation, compile_correlation


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """What a detection needs from a rule: its identity, its logsource and a ready matcher."""

    id: str
    title: str
    author: str | None
    level: str | None
    tags: tuple[str, ...]
    product: str | None
    category: str | None
    service: str | None
    path: str
    matcher: Matcher
    trees: tuple[Tree, ...] = field(
        default=(), compare=False
    )  # the parsed conditions, for the router's prefilter (see anchors.py)
    name: str | None = field(default=None, compare=False)  # what correlation rules may call it by

    def matches(self, event: Event) -> bool:
        return self.matcher(event)


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A rule file we could not load or compile, with the reason for the operator."""

    path: str
    reason: str


@dataclass(slots=True)
class RuleSet:
    """Every rule file seen: the usable ones and the rejected ones."""

    rules: list[CompiledRule] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rules) + len(self.failures)

    def by_id(self, rule_id: str) -> CompiledRule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def compile_rule(rule: SigmaRule, path: str = "<memory>") -> CompiledRule:
    """Compile one parsed rule; raises :class:`UnsupportedRule` or ``SigmaError`` when it cannot."""
    trees = [condition.parsed for condition in rule.detection.parsed_condition]
    matchers = [compile_tree(tree) for tree in trees]
    matcher: Matcher = matchers[0] if len(matchers) == 1 else (lambda e: any(m(e) for m in matchers))
    source = rule.logsource
    return CompiledRule(
        id=str(rule.id) if rule.id else path,
        title=rule.title,
        author=rule.author,
        level=rule.level.name.lower() if rule.level else None,
        tags=tuple(f"{tag.namespace}.{tag.name}" for tag in rule.tags),
        product=source.product,
        category=source.category,
        service=source.service,
        path=path,
        matcher=matcher,
        trees=tuple(trees),
        name=rule.name,
    )


def load_text(text: str, path: str = "<memory>") -> CompiledRule:
    """Parse and compile one rule from YAML text."""
    return compile_rule(SigmaRule.from_yaml(text), path)


def load_rules(folders: Iterable[str | Path]) -> RuleSet:
    """Every ``*.yml``/``*.yaml`` under ``folders`` (or the files themselves), compiled or explained."""
    result = RuleSet()
    for root in folders:
        root_path = Path(root)
        if not root_path.exists():
            raise ValueError(f"rules path {root_path} does not exist")
        files = [root_path] if root_path.is_file() else sorted(_rule_files(root_path))
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
                if _is_collection(text):
                    _load_collection(text, str(file), result)
                else:
                    result.rules.append(load_text(text, str(file)))
            except (SigmaError, UnsupportedRule, yaml.YAMLError) as exc:
                result.failures.append(RuleFailure(str(file), _one_line(exc)))
            except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
                # pySigma lets some malformed-YAML errors through as plain Python exceptions.
                result.failures.append(RuleFailure(str(file), f"{type(exc).__name__}: {_one_line(exc)}"))
    return result


def _is_collection(text: str) -> bool:
    """Several YAML documents (a correlation with its base rules) or a lone correlation rule."""
    return "\ncorrelation:" in text or text.startswith("correlation:") or "\n---" in text


def _load_collection(text: str, path: str, result: RuleSet) -> None:
    for rule in SigmaCollection.from_yaml(text).rules:
        if isinstance(rule, SigmaCorrelationRule):
            result.correlations.append(compile_correlation(rule, path))
        elif isinstance(rule, SigmaRule):
            result.rules.append(compile_rule(rule, path))


def _rule_files(root: Path) -> Iterable[Path]:
    yield from root.rglob("*.yml")
    yield from root.rglob("*.yaml")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
