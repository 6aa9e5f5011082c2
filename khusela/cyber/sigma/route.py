"""Send each event only to the rules written for its logsource.

Sigma rules declare ``product``/``category``/``service``; Windows events carry a ``Channel`` and an
``EventID``. The tables below map the latter onto the former (as SigmaHQ's own logsource
documentation does), and :class:`Router` caches the rule list per (channel, EventID, EventType) so
routing costs one dict lookup per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
}

# (channel, EventID) → categories outside Sysmon.
CHANNEL_CATEGORIES: dict[tuple[str, int], tuple[str, ...]] = {
    ("Microsoft-Windows-PowerShell/Operational", 4104): ("ps_script",),
    ("Microsoft-Windows-PowerShell/Operational", 4103): ("ps_module",),
    ("Windows PowerShell", 400): ("ps_classic_start",),
    ("Windows PowerShell", 600): ("ps_classic_provider_start",),
    ("Windows PowerShell", 800): ("ps_classic_script",),
}

_REGISTRY_12 = {"CreateKey": "registry_add", "DeleteKey": "registry_delete", "DeleteValue": "registry_delete"}


@dataclass(frozen=True, slots=True)
class Logsource:
    """Where a Windows event belongs in Sigma's vocabulary."""

    product: str
    service: str | None
    categories: tuple[str, ...]


def windows_logsource(event: Mapping[str, object]) -> Logsource:
    """The Sigma logsource of a flattened Windows event (see :mod:`khusela.cyber.sigma.evtx`)."""
    channel = str(event.get("Channel") or "")
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


class Router:
    """Rules per logsource, computed on first sight of each (channel, EventID, EventType)."""

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self._rules = list(rules)
        self._cache: dict[tuple[object, object, object], tuple[CompiledRule, ...]] = {}

    def rules_for(self, event: Mapping[str, object]) -> tuple[CompiledRule, ...]:
        key = (event.get("Channel"), event.get("EventID"), event.get("EventType"))
        found = self._cache.get(key)
        if found is None:
            source = windows_logsource(event)
            found = tuple(rule for rule in self._rules if applies(rule, source))
            self._cache[key] = found
        return found

    def detect(self, event: Mapping[str, object]) -> list[CompiledRule]:
        """The rules that fire on ``event``."""
        return [rule for rule in self.rules_for(event) if rule.matcher(event)]
