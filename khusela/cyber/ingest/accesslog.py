"""Apache/Nginx access logs (common and combined format) and Apache error logs as web events.

Web attack detection reads the URI, method, status and user agent, so those land in the Sigma
web-server field names (``c-uri``, ``cs-method``, ``sc-status``, ``c-useragent``). Error-log lines are
parsed too so a whole web server's logs can be ingested and counted, though they carry no request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from khusela.cyber.ingest.normalise import Event, LogSource
from khusela.cyber.ingest.syslog import Malformed

_Q = r'"((?:[^"\\]|\\.)*)"'  # a quoted field; nginx escapes quotes inside as \"
_ACCESS = re.compile(
    r"^(?P<ip>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    + _Q
    + r" (?P<status>\d{3}|-) (?P<bytes>\d+|-)"
    + r"(?: "
    + _Q
    + " "
    + _Q
    + r")?"
)
_REQUEST = re.compile(r"^(?P<method>[A-Z]{1,16}) (?P<uri>\S+)(?: (?P<version>HTTP/\d(?:\.\d)?))?$")
# "[Sun Dec 04 04:47:44 2005] [error] msg" (2.2) or "[Sun Dec 04 04:47:44.123 2005] [core:error] [pid 1] ..."
_ERROR = re.compile(
    r"^\[(?P<time>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] "
    r"\[(?:(?P<module>[\w-]+):)?(?P<level>[a-z]+\d?)\] (?P<message>.*)$"
)
_CLIENT = re.compile(r"\[client (?P<ip>[0-9A-Fa-f.:]+?)(?::(?P<port>\d+))?\]")

WEB = LogSource("apache", service="access", category="webserver")
WEB_ERROR = LogSource("apache", service="error", category="webserver")


def parse_access(line: str, *, product: str = "apache") -> Event | Malformed:
    """One access-log line (common or combined format) as an ``http_request`` event."""
    text = line.rstrip("\r\n")
    m = _ACCESS.match(text)
    if m is None:
        return Malformed("not an access log line", text)
    try:
        timestamp = datetime.strptime(m.group("time"), "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return Malformed("bad timestamp", text)
    request = m.group(5)
    fields: dict[str, object] = {"SourceIp": m.group("ip"), "cs-request": request}
    if m.group("user") != "-":
        fields["cs-username"] = m.group("user")
    if req := _REQUEST.match(request):
        uri = req.group("uri")
        fields["cs-method"] = req.group("method")
        fields["c-uri"] = uri
        fields["c-uri-decoded"] = _decode(uri)
        path, _, query = uri.partition("?")
        fields["cs-uri-stem"] = path
        if query:
            fields["cs-uri-query"] = query
        if req.group("version"):
            fields["cs-version"] = req.group("version")
    if m.group("status") != "-":
        fields["sc-status"] = int(m.group("status"))
    if m.group("bytes") != "-":
        fields["sc-bytes"] = int(m.group("bytes"))
    if m.group(8) is not None:
        if m.group(8) != "-":
            fields["cs-referer"] = m.group(8)
        if m.group(9) != "-":
            fields["c-useragent"] = m.group(9)
    source = WEB if product == "apache" else LogSource(product, service="access", category="webserver")
    return Event("http_request", source, text, timestamp, fields)


def parse_error(line: str) -> Event | Malformed:
    """One Apache error-log line as a ``web_error`` event (with the client address when it names one)."""
    text = line.rstrip("\r\n")
    m = _ERROR.match(text)
    if m is None:
        return Malformed("not an error log line", text)
    stamp = m.group("time")
    fmt = "%a %b %d %H:%M:%S.%f %Y" if "." in stamp else "%a %b %d %H:%M:%S %Y"
    try:
        timestamp = datetime.strptime(stamp, fmt).replace(tzinfo=UTC)
    except ValueError:
        return Malformed("bad timestamp", text)
    fields: dict[str, object] = {"Level": m.group("level"), "Message": m.group("message")}
    if m.group("module"):
        fields["Module"] = m.group("module")
    if client := _CLIENT.search(m.group("message")):
        fields["SourceIp"] = client.group("ip")
    return Event("web_error", WEB_ERROR, text, timestamp, fields)


def parse_web(line: str) -> Event | Malformed:
    """Either kind of Apache line: error-log lines start with ``[``, access-log lines with the client."""
    return parse_error(line) if line.startswith("[") else parse_access(line)


def _decode(uri: str) -> str:
    """URL-decode twice: attackers double-encode to slip past single-decoding filters."""
    return unquote_plus(unquote_plus(uri))
