"""Send each event only to the rules written for its logsource, and within those only to the few
rules whose literals the event contains.

Sigma rules declare ``product``/``category``/``service``; Windows events carry a ``Channel`` and an
``EventID``. The tables below map the latter onto the former (as SigmaHQ's own logsource
documentation does; Security 4688 counts as ``process_creation`` as in SigmaHQ's audit mapping).
:class:`Router` builds a :class:`Bucket` per (Channel, EventID, EventType) on first sight: the
logsource's rules, with each rule's anchors (see :mod:`khusela.cyber.sigma.anchors`) indexed by
field and literal. Per event it looks each indexed field up once — lowered once — and runs the real
matcher only on rules an anchor points at, plus the few rules that have no anchor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from khusela.cyber.sigma.anchors import (
    KEYWORD,
    NEVER,
    UNKNOWN,
    Anchor,
    Cache,
    Kind,
    Result,
    anchors,
    field_names,
)
from khusela.cyber.sigma.fields import security_process_creation
from khusela.cyber.sigma.load import CompiledRule

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"

SYSMON_CATEGORIES: dict[int, tuple[str, ...]] = {
    1: ("process_creation",),
    2: ("file_change",),
    3: ("network_connection",),
    4: ("sysmon_status",),
    5: ("process_termination",),
    6: ("driver_load",),
    7: ("image_load",),
    8: ("create_remote_thread",),
    9: ("raw_access_thread",),
    10: ("process_access",),
    11: ("file_event",),
    12: ("registry_event",),  # refined by EventType below
    13: ("registry_set", "registry_event"),
    14: ("registry_rename", "registry_event"),
    15: ("create_stream_hash",),
    16: ("sysmon_status",),
    17: ("pipe_created",),
    18: ("pipe_created",),
    19: ("wmi_event",),
    20: ("wmi_event",),
    21: ("wmi_event",),
    22: ("dns_query",),
    23: ("file_delete",),
    24: ("clipboard_capture",),
    25: ("process_tampering",),
    26: ("file_delete",),
    27: ("file_block_executable",),
    28: ("file_block_shredding",),
    29: ("file_executable_detected",),
    255: ("sysmon_error",),
}

CHANNEL_SERVICES: dict[str, str] = {
    "Security": "security",
    "System": "system",
    "Application": "application",
    SYSMON_CHANNEL: "sysmon",
    "Microsoft-Windows-PowerShell/Operational": "powershell",
    "Windows PowerShell": "powershell-classic",
    "Microsoft-Windows-TaskScheduler/Operational": "taskscheduler",
    "Microsoft-Windows-WMI-Activity/Operational": "wmi",
    "Microsoft-Windows-Windows Defender/Operational": "windefend",
    "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall": "firewall-as",
    "Microsoft-Windows-Bits-Client/Operational": "bits-client",
    "Microsoft-Windows-DNS-Client/Operational": "dns-client",
    "Microsoft-Windows-CodeIntegrity/Operational": "codeintegrity-operational",
    "Microsoft-Windows-AppLocker/EXE and DLL": "applocker",
    "Microsoft-Windows-AppLocker/MSI and Script": "applocker",
    "Microsoft-Windows-NTLM/Operational": "ntlm",
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational": (
        "terminalservices-localsessionmanager"
    ),
    # The rest as SigmaHQ's tests/thor.yml lists them.
    "Microsoft-Windows-SmbClient/Security": "smbclient-security",
    "Microsoft-Windows-SMBServer/Connectivity": "smbserver-connectivity",
    "MSExchange Management": "msexchange-management",
    "Microsoft-Windows-Security-Mitigations/Kernel Mode": "security-mitigations",
    "Microsoft-Windows-Security-Mitigations/User Mode": "security-mitigations",
    "Microsoft-Windows-Diagnosis-Scripted/Operational": "diagnosis-scripted",
    "Microsoft-Windows-Shell-Core/Operational": "shell-core",
    "OpenSSH/Operational": "openssh",
    "Microsoft-Windows-LDAP-Client/Debug": "ldap",
    "Microsoft-Windows-AppXDeploymentServer/Operational": "appxdeployment-server",
    "Microsoft-Windows-LSA/Operational": "lsa-server",
    "Microsoft-Windows-AppxPackaging/Operational": "appxpackaging-om",
    "Microsoft-Windows-AppModel-Runtime/Admin": "appmodel-runtime",
    "Microsoft-Windows-CAPI2/Operational": "capi2",
    "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational": (
        "certificateservicesclient-lifecycle-system"
    ),
    "Microsoft-IIS-Configuration/Operational": "iis-configuration",
}

# (channel, EventID) → categories outside Sysmon.
CHANNEL_CATEGORIES: dict[tuple[str, int], tuple[str, ...]] = {
    ("Microsoft-Windows-PowerShell/Operational", 4104): ("ps_script",),
    ("Microsoft-Windows-PowerShell/Operational", 4103): ("ps_module",),
    ("Windows PowerShell", 400): ("ps_classic_start",),
    ("Windows PowerShell", 600): ("ps_classic_provider_start",),
    ("Windows PowerShell", 800): ("ps_classic_script",),
    ("Security", 4688): ("process_creation",),
}

_CHANNELS = {name.lower(): name for name in CHANNEL_SERVICES}

_REGISTRY_12 = {"CreateKey": "registry_add", "DeleteKey": "registry_delete", "DeleteValue": "registry_delete"}
STATIC_FIELDS = ("Channel", "EventID", "EventType")


@dataclass(frozen=True, slots=True)
class Logsource:
    """Where a Windows event belongs in Sigma's vocabulary."""

    product: str
    service: str | None
    categories: tuple[str, ...]


def windows_logsource(event: Mapping[str, object]) -> Logsource:
    """The Sigma logsource of a flattened Windows event (see :mod:`khusela.cyber.sigma.evtx`).

    Channel names are compared without case: exports write ``security`` as often as ``Security``.
    """
    raw_channel = str(event.get("Channel") or "")
    channel = _CHANNELS.get(raw_channel.lower(), raw_channel)
    try:
        event_id = int(str(event.get("EventID")))
    except ValueError:
        event_id = -1
    categories: tuple[str, ...] = ()
    if channel == SYSMON_CHANNEL:
        categories = SYSMON_CATEGORIES.get(event_id, ())
        if event_id == 12:
            extra = _REGISTRY_12.get(str(event.get("EventType")))
            categories = (extra, "registry_event") if extra else categories
    else:
        categories = CHANNEL_CATEGORIES.get((channel, event_id), ())
    return Logsource("windows", CHANNEL_SERVICES.get(channel), categories)


def applies(rule: CompiledRule, source: Logsource) -> bool:
    """Whether ``rule`` was written for events from ``source``."""
    if rule.product is not None and rule.product != source.product:
        return False
    if rule.category is not None and rule.category not in source.categories:
        return False
    return rule.service is None or rule.service == source.service


Prepare = Callable[[MutableMapping[str, object]], None]
_Hits = dict[str, tuple[int, ...]]
_SET_FROM = 6  # literals per field from which one RE2 set search beats a Python loop of `in` tests


class _Literals:
    """Substring, prefix and suffix literals of one field, searched in one pass.

    A few literals are tested with ``in``/``startswith``/``endswith``; more go into one RE2 set
    (pySigma already depends on ``google-re2``), whose automaton reports every literal present in a
    single scan: a process-creation bucket has over a thousand ``CommandLine`` substrings. Literals
    with non-ASCII characters (SigmaHQ's emoji and homoglyph rules add thousands) are kept apart and
    only searched in text that is not pure ASCII, which is almost never the case.
    """

    def __init__(self, literals: list[tuple[Kind, str, tuple[int, ...]]]) -> None:
        ascii_only = [item for item in literals if item[1].isascii()]
        other = [item for item in literals if not item[1].isascii()]
        self.ascii = _Search(ascii_only)
        self.other = _Search(other) if other else None

    def found(self, text: str) -> Iterable[tuple[int, ...]]:
        """The rule positions of every literal present in ``text``."""
        hits = self.ascii.found(text)
        if self.other is None or text.isascii():
            return hits
        return [*hits, *self.other.found(text)]


class _Search:
    def __init__(self, literals: list[tuple[Kind, str, tuple[int, ...]]]) -> None:
        self.hits = [hits for _, _, hits in literals]
        self.small = [(kind, literal) for kind, literal, _ in literals]
        self.search: re2.Set | None = None
        if len(literals) >= _SET_FROM:
            options = re2.Options()
            options.max_mem = 256 << 20  # room for the automaton: past it RE2 falls back to a slow NFA
            search = re2.Set.SearchSet(options)
            for kind, literal, _ in literals:
                body = re.escape(literal)
                search.Add(
                    r"\A" + body if kind is Kind.PREFIX else body + r"\z" if kind is Kind.SUFFIX else body
                )
            search.Compile()
            self.search = search

    def found(self, text: str) -> list[tuple[int, ...]]:
        if self.search is not None:
            matched = self.search.Match(text)
            return [self.hits[i] for i in matched] if matched else []
        out = []
        for (kind, literal), hits in zip(self.small, self.hits, strict=True):
            if kind is Kind.CONTAINS:
                ok = literal in text
            else:
                ok = text.startswith(literal) if kind is Kind.PREFIX else text.endswith(literal)
            if ok:
                out.append(hits)
        return out


@dataclass(slots=True)
class _FieldIndex:
    """One field's anchors: exact values and names by dict, the other literals in one search."""

    equal: _Hits
    name: _Hits
    literals: _Literals | None


class Bucket:
    """The rules for one (Channel, EventID, EventType), with their anchors indexed."""

    def __init__(self, entries: Iterable[tuple[CompiledRule, Result]], prepare: Prepare | None) -> None:
        """``entries`` are the logsource's rules with their anchors for this bucket (never ``NEVER``)."""
        self.prepare = prepare
        kept: list[CompiledRule] = []
        always: list[int] = []
        by_field: dict[str, dict[Anchor, list[int]]] = {}
        for rule, found in entries:
            position = len(kept)
            kept.append(rule)
            if isinstance(found, frozenset):
                for anchor in found:
                    by_field.setdefault(anchor.field, {}).setdefault(anchor, []).append(position)
            else:
                always.append(position)
        self.rules = tuple(kept)
        self.always = tuple(always)
        keyword = by_field.pop(KEYWORD, {})
        self.keywords = (
            _Literals([(a.kind, a.literal, tuple(h)) for a, h in keyword.items()]) if keyword else None
        )
        self.fields = [(field, _index(found)) for field, found in sorted(by_field.items())]

    def detect(self, event: MutableMapping[str, object]) -> list[CompiledRule]:  # noqa: PLR0912 - one hot loop, kept flat for speed
        """The rules of this bucket that fire on ``event``, in rule order."""
        if self.prepare is not None:
            self.prepare(event)
        candidates = set(self.always)
        add = candidates.update
        get = event.get
        for field, index in self.fields:
            value = get(field)
            if value is None:
                continue
            text = value.lower() if type(value) is str else _text(value)
            if (hit := index.equal.get(text)) is not None:
                add(hit)
            if type(value) is not str:
                for other in _numeric_keys(value):
                    if (hit := index.equal.get(other)) is not None:
                        add(hit)
            if index.name and (hit := index.name.get(text[text.rfind("\\") + 1 :])) is not None:
                add(hit)
            if index.literals is not None:
                for hit in index.literals.found(text):
                    add(hit)
        if self.keywords is not None:
            # One text of all values, separated by a character no literal holds, so no match spans two.
            haystack = "\x00".join(map(str, event.values()))  # "None" for nulls only widens the prefilter
            for hit in self.keywords.found(haystack.lower()):
                add(hit)
        if not candidates:
            return []
        rules = self.rules
        return [rules[i] for i in sorted(candidates) if rules[i].matcher(event)]


def _text(value: object) -> str:
    return str(value).lower()


def _index(found: dict[Anchor, list[int]]) -> _FieldIndex:
    index = _FieldIndex({}, {}, None)
    literals: list[tuple[Kind, str, tuple[int, ...]]] = []
    for anchor, hits in sorted(found.items(), key=lambda item: (item[0].kind.value, item[0].literal)):
        positions = tuple(sorted(set(hits)))
        if anchor.kind is Kind.EQUAL:
            index.equal[anchor.literal] = positions
        elif anchor.kind is Kind.NAME:
            index.name[anchor.literal] = positions
        else:
            literals.append((anchor.kind, anchor.literal, positions))
    index.literals = _Literals(literals) if literals else None
    return index


def _numeric_keys(value: object) -> tuple[str, ...]:
    """Extra equality keys for non-text values: a Sigma number 1 matches ``1``, ``1.0`` and ``True``."""
    if isinstance(value, bool):
        return (str(int(value)),)
    if isinstance(value, float) and value.is_integer():
        return (str(int(value)),)
    return ()


_PREPARE: dict[tuple[str, int], Prepare] = {("Security", 4688): security_process_creation}


class Router:
    """Rules per logsource and their prefilter, built on first sight of each (channel, EventID, EventType).

    Buckets that end up with the same rules and anchors (``Security``/``security``, EventType
    variants) share one index, and a rule's anchors are reused across buckets unless the rule tests
    one of the bucket's constant fields: building a process-creation index costs most of a second.
    """

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self._rules = list(rules)
        self._buckets: dict[tuple[object, object, object], Bucket] = {}
        self._shared: dict[tuple[object, ...], Bucket] = {}
        self._anchors: dict[tuple[int, tuple[object, ...]], Result] = {}
        self._subtrees: Cache = {}
        self._static_uses: list[tuple[str, ...]] = [_static_fields(rule) for rule in self._rules]
        self.build_seconds = 0.0  # spent building buckets, for the benchmark

    def rules_for(self, event: Mapping[str, object]) -> tuple[CompiledRule, ...]:
        """The rules written for ``event``'s logsource (before the prefilter)."""
        source = windows_logsource(event)
        return tuple(rule for rule in self._rules if applies(rule, source))

    def bucket(self, event: Mapping[str, object]) -> Bucket:
        """The bucket for ``event``'s (Channel, EventID, EventType), built if new."""
        key = (event.get("Channel"), event.get("EventID"), event.get("EventType"))
        found = self._buckets.get(key)
        if found is not None:
            return found
        started = time.perf_counter()
        source = windows_logsource(event)
        static = dict(zip(STATIC_FIELDS, key, strict=True))
        entries: list[tuple[CompiledRule, Result]] = []
        for position, rule in enumerate(self._rules):
            if not applies(rule, source):
                continue
            uses = self._static_uses[position]
            cache_key = (position, tuple(static[name] for name in uses))
            result = self._anchors.get(cache_key)
            if result is None:
                result = anchors(list(rule.trees), static, self._subtrees) if rule.trees else UNKNOWN
                self._anchors[cache_key] = result
            if result is not NEVER:
                entries.append((rule, result))
        channel = _CHANNELS.get(str(key[0] or "").lower(), "")
        try:
            event_id = int(str(key[1]))
        except ValueError:
            event_id = -1
        prepare = _PREPARE.get((channel, event_id))
        shared_key = (prepare, *((id(rule), result) for rule, result in entries))
        found = self._shared.get(shared_key)
        if found is None:
            found = Bucket(entries, prepare)
            self._shared[shared_key] = found
        self._buckets[key] = found
        self.build_seconds += time.perf_counter() - started
        return found

    def detect(self, event: MutableMapping[str, object]) -> list[CompiledRule]:
        """The rules that fire on ``event``."""
        key = (event.get("Channel"), event.get("EventID"), event.get("EventType"))
        found = self._buckets.get(key)
        if found is None:
            found = self.bucket(event)
        return found.detect(event)


def _static_fields(rule: CompiledRule) -> tuple[str, ...]:
    """The bucket-constant fields a rule tests: its anchors depend on nothing else of the bucket."""
    used = {name for tree in rule.trees for name in field_names(tree)}
    return tuple(name for name in STATIC_FIELDS if name in used)
