"""Flattening evtx-rs JSON into Sigma field names, and damaged files never stopping a scan."""

from __future__ import annotations

from pathlib import Path

from khusela.cyber.sigma.evtx import ReadStats, flatten, read_evtx


def test_flatten_system_and_event_data() -> None:
    doc: dict[str, object] = {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": {"#text": 1, "#attributes": {"Qualifiers": 0}},
                "TimeCreated": {"#attributes": {"SystemTime": "2025-01-01T00:00:00Z"}},
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "pc1",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}},
            },
            "EventData": {"Image": "C:\\a.exe", "CommandLine": "a -x"},
        }
    }
    flat = flatten(doc)
    assert flat["EventID"] == 1
    assert flat["Provider_Name"] == "Microsoft-Windows-Sysmon"
    assert flat["Security_UserID"] == "S-1-5-18"
    assert flat["TimeCreated"] == "2025-01-01T00:00:00Z"
    assert flat["Image"] == "C:\\a.exe"


def test_corrupt_file_is_counted_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.evtx"
    bad.write_bytes(b"ElfFile\x00" + b"\x00" * 50)
    stats = ReadStats()
    assert list(read_evtx(bad, stats)) == []
    assert len(stats.errors) == 1
    assert str(bad) in stats.errors[0]
