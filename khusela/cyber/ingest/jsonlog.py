"""Read Windows events exported as JSON (files, NDJSON, zips of them) into flat Sigma-named dicts.

Evidence arrives as JSON more often than as EVTX: NXLog/Mordor lines, Sysmon exports, Winlogbeat/Elastic
(ECS) documents. Each is mapped onto the field names SigmaHQ rules use (those of
:mod:`khusela.cyber.sigma.evtx`), so one rule set reads them all. Files are read lazily: NDJSON line by
line (a zipped 40 MB dataset never sits in memory twice); a ``.json`` file holding an array or a
sequence of pretty-printed objects is decoded one object at a time. A line that is not JSON, or not
an object, is counted in :class:`~khusela.cyber.sigma.evtx.ReadStats` with its line number and
reason and the read goes on.

Recognised shapes, tried in this order:

1. ``{"Event": {"System": …, "EventData": …}}`` (evtx-rs / python-evtx / Sysmon XML→JSON exports):
   flattened by :func:`khusela.cyber.sigma.evtx.flatten`.
2. ECS-like documents (a ``winlog`` object, or ``event``/``process`` objects), mapped as below;
   ``winlog.event_data.*`` and ``winlog.user_data.*`` keep their (already Sigma) names and win over
   the ECS fields, which only fill what is missing.
3. Flat events (NXLog, Mordor, most SIEM exports): kept as they are, a nested ``EventData`` object
   is merged in, and the NXLog names below are copied to the Windows names.

=================================  ===================  ========================
source field                       Sigma field          shape
=================================  ===================  ========================
``Hostname``                       ``Computer``         flat (NXLog)
``SourceName``                     ``Provider_Name``    flat (NXLog)
``EventTime``                      ``TimeCreated``      flat (NXLog)
``RecordNumber``                   ``EventRecordID``    flat (NXLog)
``winlog.channel``                 ``Channel``          ECS
``winlog.event_id``/``event.code`` ``EventID``          ECS
``winlog.provider_name``           ``Provider_Name``    ECS
``winlog.computer_name``           ``Computer``         ECS (else ``host.name``)
``winlog.record_id``               ``EventRecordID``    ECS
``@timestamp``                     ``TimeCreated``      ECS
``process.executable``             ``Image``            ECS
``process.command_line``           ``CommandLine``      ECS
``process.pid``                    ``ProcessId``        ECS
``process.working_directory``      ``CurrentDirectory`` ECS
``process.pe.original_file_name``  ``OriginalFileName`` ECS
``process.parent.executable``      ``ParentImage``      ECS
``process.parent.command_line``    ``ParentCommandLine`` ECS
``process.parent.pid``             ``ParentProcessId``  ECS
``user.domain`` + ``user.name``    ``User``             ECS (``DOMAIN\\name``)
``source.ip`` / ``source.port``    ``SourceIp`` / ``SourcePort``  ECS
``destination.ip`` / ``.port``     ``DestinationIp`` / ``DestinationPort``  ECS
``destination.domain``             ``DestinationHostname``  ECS
``network.transport``              ``Protocol``         ECS
``dns.question.name``              ``QueryName``        ECS
``file.path``                      ``TargetFilename``   ECS
``registry.path``                  ``TargetObject``     ECS
``registry.data.strings``          ``Details``          ECS (joined)
=================================  ===================  ========================

``EventID`` is made an ``int`` wherever it is a decimal string, as the EVTX reader gives it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from khusela.cyber.sigma.evtx import FlatEvent, ReadStats, flatten
from khusela.cyber.sigma.fields import canonical_keys

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")

_FLAT_ALIASES = (
    ("Hostname", "Computer"),
    ("SourceName", "Provider_Name"),
    ("EventTime", "TimeCreated"),
    ("RecordNumber", "EventRecordID"),
)

_ECS_PATHS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("winlog", "channel"), "Channel"),
    (("winlog", "event_id"), "EventID"),
    (("event", "code"), "EventID"),
    (("winlog", "provider_name"), "Provider_Name"),
    (("winlog", "computer_name"), "Computer"),
    (("host", "name"), "Computer"),
    (("host", "hostname"), "Computer"),
    (("winlog", "record_id"), "EventRecordID"),
    (("@timestamp",), "TimeCreated"),
    (("process", "executable"), "Image"),
    (("process", "command_line"), "CommandLine"),
    (("process", "pid"), "ProcessId"),
    (("process", "working_directory"), "CurrentDirectory"),
    (("process", "pe", "original_file_name"), "OriginalFileName"),
    (("process", "parent", "executable"), "ParentImage"),
    (("process", "parent", "command_line"), "ParentCommandLine"),
    (("process", "parent", "pid"), "ParentProcessId"),
    (("source", "ip"), "SourceIp"),
    (("source", "port"), "SourcePort"),
    (("destination", "ip"), "DestinationIp"),
    (("destination", "port"), "DestinationPort"),
    (("destination", "domain"), "DestinationHostname"),
    (("network", "transport"), "Protocol"),
    (("dns", "question", "name"), "QueryName"),
    (("file", "path"), "TargetFilename"),
    (("registry", "path"), "TargetObject"),
)


@dataclass(slots=True)
class JsonRecord:
    """One event: Sigma-named ``fields``, the original text and where it was found."""

    fields: FlatEvent
    raw: str
    source: str
    line: int


def json_files(paths: Iterable[str | Path]) -> list[Path]:
    """The JSON, NDJSON and zip files named by ``paths`` (folders searched recursively)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if is_json_path(p)))
        elif path.exists():
            found.append(path)
        else:
            raise ValueError(f"{path} does not exist")
    return found


def is_json_path(path: Path) -> bool:
    """Whether the file name says JSON, NDJSON or a zip (of such files)."""
    return path.suffix.lower() in (*JSON_SUFFIXES, ".zip")


def read_json_file(path: str | Path, stats: ReadStats | None = None) -> Iterator[JsonRecord]:
    """Every event in ``path`` (``.json``, ``.jsonl``, ``.ndjson`` or a ``.zip`` of those)."""
    stats = stats if stats is not None else ReadStats()
    path = Path(path)
    try:
        if path.suffix.lower() == ".zip":
            yield from _read_zip(path, stats)
            return
        with open(path, "rb") as handle:
            yield from read_json_stream(handle, str(path), stats)
    except OSError as exc:
        stats.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
    except zipfile.BadZipFile as exc:
        stats.errors.append(f"{path}: not a readable zip: {exc}")


def _read_zip(path: Path, stats: ReadStats) -> Iterator[JsonRecord]:
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            name = member.filename
            # macOS archivers add resource forks (__MACOSX/…/._name) that only look like JSON.
            if member.is_dir() or "__MACOSX/" in name or Path(name).name.startswith("._"):
                continue
            if not name.lower().endswith(JSON_SUFFIXES):
                continue
            with archive.open(member) as handle:
                yield from read_json_stream(handle, f"{path}!{name}", stats)


def read_json_stream(handle: IO[bytes], source: str, stats: ReadStats) -> Iterator[JsonRecord]:
    """Events from an open binary stream holding NDJSON, one JSON object or a JSON array.

    The first line decides: if it is a complete object, the stream is NDJSON and is read line by
    line; otherwise the whole document is decoded object by object.
    """
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace")
    first = text.readline()
    while first and not first.strip():
        first = text.readline()
    if not first:
        return
    head = first.lstrip()
    if head.startswith("{") and _is_object(first):
        yield from _read_lines(first, text, source, stats)
    else:
        yield from _read_document(first + text.read(), source, stats)


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _read_lines(first: str, rest: Iterable[str], source: str, stats: ReadStats) -> Iterator[JsonRecord]:
    loads = json.loads
    number = 0
    for line in _chain(first, rest):
        number += 1
        stripped = line.strip()
        if not stripped:
            continue
        try:
            document = loads(stripped)
        except json.JSONDecodeError as exc:
            stats.malformed(source, number, f"invalid JSON: {exc.msg}")
            continue
        except RecursionError:
            stats.malformed(source, number, "invalid JSON: nested too deeply")
            continue
        if not isinstance(document, dict):
            stats.malformed(source, number, f"not an object: {type(document).__name__}")
            continue
        record = _record(document, stripped, source, number, stats)
        if record is not None:
            yield record


def _chain(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest


def _read_document(text: str, source: str, stats: ReadStats) -> Iterator[JsonRecord]:
    """A single object, an array of objects or concatenated objects, decoded one value at a time."""
    decoder = json.JSONDecoder()
    pos, size = 0, len(text)
    pos = _skip(text, pos)
    in_array = pos < size and text[pos] == "["
    if in_array:
        pos = _skip(text, pos + 1)
    while pos < size:
        if in_array and text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            document, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            # Inside a document we cannot tell where the broken value ends: count it and stop here.
            stats.malformed(
                source, line, f"invalid JSON: {exc.msg if isinstance(exc, json.JSONDecodeError) else exc}"
            )
            return
        if isinstance(document, dict):
            record = _record(document, text[pos:end], source, line, stats)
            if record is not None:
                yield record
        else:
            stats.malformed(source, line, f"not an object: {type(document).__name__}")
        pos = _skip(text, end)
        if in_array and pos < size and text[pos] == ",":
            pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    size = len(text)
    while pos < size and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _record(
    document: dict[str, object], raw: str, source: str, line: int, stats: ReadStats
) -> JsonRecord | None:
    try:
        fields = normalise_document(document)
    except ValueError as exc:
        stats.malformed(source, line, str(exc))
        return None
    stats.events += 1
    return JsonRecord(fields, raw, source, line)


def normalise_document(document: dict[str, object]) -> FlatEvent:
    """One JSON event as flat Sigma fields, whatever its shape (see the module table)."""
    if isinstance(document.get("Event"), dict):
        fields = flatten(document)
    elif (
        isinstance(document.get("winlog"), dict)
        or isinstance(document.get("process"), dict)
        or (isinstance(document.get("event"), dict))
    ):
        fields = _from_ecs(document)
    else:
        fields = _from_flat(document)
    event_id = fields.get("EventID")
    if isinstance(event_id, str) and event_id.isdigit():
        fields["EventID"] = int(event_id)
    return canonical_keys(fields)


def _from_flat(document: dict[str, object]) -> FlatEvent:
    fields: FlatEvent = dict(document)
    for section in ("EventData", "UserData"):
        data = fields.get(section)
        if isinstance(data, dict):
            del fields[section]
            for key, value in data.items():
                fields.setdefault(key, value)
    for alias, name in _FLAT_ALIASES:
        if alias in fields and name not in fields:
            fields[name] = fields[alias]
    return fields


def _from_ecs(document: dict[str, object]) -> FlatEvent:
    fields: FlatEvent = {}
    winlog = document.get("winlog")
    if isinstance(winlog, dict):
        for section in ("event_data", "user_data"):
            data = winlog.get(section)
            if isinstance(data, dict):
                fields.update((k, v) for k, v in data.items() if v is not None)
    for path, name in _ECS_PATHS:
        if name in fields:
            continue
        value = _dig(document, path)
        if value is not None and not isinstance(value, (dict, list)):
            fields[name] = value
    user = document.get("user")
    if "User" not in fields and isinstance(user, dict) and user.get("name") is not None:
        domain = user.get("domain")
        fields["User"] = f"{domain}\\{user['name']}" if domain else user["name"]
    registry = document.get("registry")
    if "Details" not in fields and isinstance(registry, dict):
        data = registry.get("data")
        strings = data.get("strings") if isinstance(data, dict) else None
        if isinstance(strings, list):
            fields["Details"] = "\n".join(str(s) for s in strings)
    # Keep the remaining top-level scalars (message, tags …) so keyword rules still see them.
    for key, value in document.items():
        if key not in fields and not isinstance(value, (dict, list)) and value is not None:
            fields[key] = value
    return fields


def _dig(document: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document
