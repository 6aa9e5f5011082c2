"""Syslog parsing and framing: every flavour parses, bad lines become counted records, never errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from khusela.cyber.ingest.syslog import Framer, Malformed, SyslogRecord, YearTracker, parse


def record(line: str | bytes, **kwargs: object) -> SyslogRecord:
    result = parse(line, year=2024) if not kwargs else parse(line, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, SyslogRecord), result
    return result


def test_rfc5424_with_structured_data() -> None:
    line = (
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        '[exampleSDID@32473 iut="3" eventSource="Appli\\"cation"][meta x="\\]"] \ufeffAn application event'
    )
    r = record(line)
    assert (r.facility, r.severity, r.format) == (20, 5, "rfc5424")
    assert r.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert (r.hostname, r.app_name, r.procid, r.msgid) == ("mymachine.example.com", "evntslog", None, "ID47")
    assert r.structured_data == {
        "exampleSDID@32473": {"iut": "3", "eventSource": 'Appli"cation'},
        "meta": {"x": "]"},
    }
    assert r.message == "An application event"


def test_rfc5424_nil_fields_and_no_message() -> None:
    r = record("<34>1 - - - - - -")
    assert r.timestamp is None
    assert r.hostname is None
    assert r.message == ""


def test_rfc3164() -> None:
    r = record("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8")
    assert (r.facility, r.severity, r.format) == (4, 2, "rfc3164")
    assert r.timestamp == datetime(2024, 10, 11, 22, 14, 15, tzinfo=UTC)
    assert (r.hostname, r.app_name, r.procid) == ("mymachine", "su", "230")
    assert r.message == "'su root' failed for lonvick on /dev/pts/8"


@pytest.mark.parametrize(
    ("line", "app", "pid", "message"),
    [
        (
            "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 1.2.3.4",
            "sshd",
            "24200",
            "Invalid user webmaster from 1.2.3.4",
        ),
        (
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure;",
            "sshd(pam_unix)",
            "19939",
            "authentication failure;",
        ),
        ("Jul 27 14:42:00 combo kernel: Linux agpgart", "kernel", None, "Linux agpgart"),
        (
            "Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2",
            None,
            None,
            "-- root[2421]: ROOT LOGIN ON tty2",
        ),
    ],
)
def test_bsd_file_lines_as_in_var_log(line: str, app: str | None, pid: str | None, message: str) -> None:
    r = record(line)
    assert r.format == "bsd-file"
    assert r.facility is None
    assert (r.app_name, r.procid, r.message) == (app, pid, message)


def test_iso_timestamp_in_3164_header() -> None:
    r = record("<13>2024-05-01T10:00:00+02:00 web01 nginx: started")
    assert r.timestamp is not None
    assert r.timestamp.utcoffset() is not None
    assert (r.hostname, r.app_name) == ("web01", "nginx")


def test_missing_year_is_guessed_backwards_across_new_year() -> None:
    now = datetime(2025, 1, 2, tzinfo=UTC)
    r = record("Dec 31 23:59:59 h app: x", now=now)
    assert r.timestamp is not None
    assert r.timestamp.year == 2024


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty"),
        ("<999>Oct 11 22:14:15 h a: x", "bad priority"),
        ("<abc>hello", "bad priority"),
        ("just some text", "no priority or timestamp"),
        ("Feb 30 10:00:00 h a: x", "bad timestamp"),
        ("Foo 11 10:00:00 h a: x", "bad timestamp"),
        ("<34>1 2003-13-11T22:14:15Z h a - - -", "bad timestamp"),
        ("<34>1 2003-10-11T22:14:15Z h a", "rfc5424 header incomplete"),
        ('<34>1 2003-10-11T22:14:15Z h a - - [broken x="1"', "bad structured data"),
    ],
)
def test_malformed_lines_are_records_not_errors(line: str, reason: str) -> None:
    result = parse(line)
    assert isinstance(result, Malformed)
    assert result.reason == reason
    assert result.raw == line


def test_pri_without_header_keeps_the_message() -> None:
    r = record("<13>something odd")
    assert r.severity == 5
    assert r.message == "something odd"
    assert r.timestamp is None


def test_bytes_are_decoded_leniently() -> None:
    assert record(b"<13>Oct 11 22:14:15 h a: caf\xe9\r\n").message == "caf\ufffd"


def test_framer_mixes_octet_counting_and_newlines_across_chunks() -> None:
    first = b"<34>1 - h a - - - one"
    stream = b"%d " % len(first) + first + b"<13>Oct 11 22:14:15 h a: two\n" + b"\n" + b"10 <13>three!"
    framer = Framer()
    out: list[bytes | Malformed] = []
    for i in range(0, len(stream), 7):  # arrive in awkward pieces
        out += framer.feed(stream[i : i + 7])
    out += framer.close()
    assert out == [first, b"<13>Oct 11 22:14:15 h a: two", b"<13>three!"]


def test_framer_reports_truncated_and_oversized_frames() -> None:
    framer = Framer(max_frame=50)
    assert framer.feed(b"30 <13>short") == []
    assert framer.close() == [Malformed("truncated frame", "30 <13>short")]
    out = framer.feed(b"999 <13>x\n<13>ok\n")
    assert isinstance(out[0], Malformed)
    assert out[0].reason == "frame too large"
    assert out[1:] == [b"<13>x", b"<13>ok"]
    out = framer.feed(b"a" * 60)
    assert len(out) == 1
    assert isinstance(out[0], Malformed)


def test_year_tracker_rolls_over() -> None:
    years = YearTracker(2015)
    got = [
        years.year_for(line)
        for line in ("Nov 30 10:00:00 a", "Dec 31 10:00:00 b", "Jan  1 10:00:00 c", "<13>Feb  2 10:00:00 d")
    ]
    assert got == [2015, 2015, 2016, 2016]
