"""Apache/Nginx access and error lines become web events in Sigma web-server field names."""

from __future__ import annotations

from khusela.cyber.ingest.accesslog import parse_access, parse_error, parse_web
from khusela.cyber.ingest.normalise import Event
from khusela.cyber.ingest.syslog import Malformed

COMBINED = (
    '203.0.113.5 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=%27 HTTP/1.0" 200 2326 '
    '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
)


def test_combined_format() -> None:
    e = parse_access(COMBINED)
    assert isinstance(e, Event)
    assert e.event_type == "http_request"
    assert e.logsource.category == "webserver"
    assert e["SourceIp"] == "203.0.113.5"
    assert (e["cs-method"], e["c-uri"], e["sc-status"], e["sc-bytes"]) == (
        "GET",
        "/apache_pb.gif?a=%27",
        200,
        2326,
    )
    assert e["c-uri-decoded"] == "/apache_pb.gif?a='"
    assert e["cs-uri-query"] == "a=%27"
    assert e["c-useragent"] == "Mozilla/4.08 [en] (Win98; I ;Nav)"
    assert e["cs-username"] == "frank"
    assert e.timestamp is not None
    assert e.timestamp.utcoffset() is not None


def test_common_format_and_garbage_request() -> None:
    e = parse_access('10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "\\x16\\x03\\x01" 400 - ')
    assert isinstance(e, Event)
    assert "cs-method" not in e
    assert e["sc-status"] == 400
    assert "sc-bytes" not in e


def test_nginx_escaped_quote_in_user_agent() -> None:
    line = '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "evil\\"agent"'
    e = parse_access(line)
    assert isinstance(e, Event)
    assert e["c-useragent"] == 'evil\\"agent'
    assert "cs-referer" not in e


def test_malformed_access_lines() -> None:
    assert parse_access("hello") == Malformed("not an access log line", "hello")
    bad = '1.1.1.1 - - [99/Xyz/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5'
    assert parse_access(bad) == Malformed("bad timestamp", bad)


def test_error_log_both_apache_versions() -> None:
    old = parse_error("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6")
    assert isinstance(old, Event)
    assert old["Level"] == "error"
    assert old.event_type == "web_error"
    new = parse_web(
        "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708] [client 72.15.99.187:5678] "
        "File does not exist"
    )
    assert isinstance(new, Event)
    assert new["Module"] == "core"
    assert new["SourceIp"] == "72.15.99.187"
    assert isinstance(parse_error("[nonsense] x"), Malformed)
