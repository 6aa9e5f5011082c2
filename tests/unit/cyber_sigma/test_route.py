"""Logsource routing: an event only meets the rules written for its channel and EventID."""

from __future__ import annotations

from khusela.cyber.sigma import Router, load_text
from khusela.cyber.sigma.route import windows_logsource

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def make(category: str | None = None, service: str | None = None) -> str:
    source = "product: windows" + (f", category: {category}" if category else "")
    source += f", service: {service}" if service else ""
    detection = "detection:\n  sel:\n    A: '1'\n  condition: sel\n"
    return f"title: {category or service}\nlogsource: {{{source}}}\n{detection}"


def test_sysmon_ids_map_to_categories() -> None:
    assert windows_logsource({"Channel": SYSMON, "EventID": 1}).categories == ("process_creation",)
    assert "registry_set" in windows_logsource({"Channel": SYSMON, "EventID": 13}).categories
    assert windows_logsource({"Channel": SYSMON, "EventID": 12, "EventType": "DeleteKey"}).categories[0] == (
        "registry_delete"
    )
    ps = windows_logsource({"Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4104})
    assert ps.categories == ("ps_script",)
    assert ps.service == "powershell"


def test_router_sends_events_to_matching_logsource_only() -> None:
    rules = [
        load_text(make("process_creation")),
        load_text(make("file_event")),
        load_text(make(service="security")),
    ]
    router = Router(rules)
    hits = router.detect({"Channel": SYSMON, "EventID": 1, "A": "1"})
    assert [r.category for r in hits] == ["process_creation"]
    hits = router.detect({"Channel": "Security", "EventID": 4624, "A": "1"})
    assert [r.service for r in hits] == ["security"]
