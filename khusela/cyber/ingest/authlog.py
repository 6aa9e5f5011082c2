"""Linux authentication logs (auth.log / secure / messages): OpenSSH and PAM lines as logon events.

These are the lines brute-force and spraying detection feed on, so each pattern pulls out the source
address, the account and the outcome. Lines we do not recognise still become generic events: an
unknown sshd message is not an error, just nothing to correlate.
"""

from __future__ import annotations

import re

from khusela.cyber.ingest.normalise import Event, firewall_event, from_syslog
from khusela.cyber.ingest.syslog import SyslogRecord

_IP = r"(?P<src_ip>[0-9A-Fa-f.:]+)"
_PORT = r"(?: port (?P<src_port>\d+))?"

# (event_type, pattern) — first match wins, so the specific "authenticating user" forms come first
SSHD_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "logon_failure",
        re.compile(
            r"^Failed (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?) from " + _IP + _PORT
        ),
    ),
    ("logon_success", re.compile(r"^Accepted (?P<method>\S+) for (?P<user>\S+) from " + _IP + _PORT)),
    ("invalid_user", re.compile(r"^Invalid user (?P<user>.*?) from " + _IP + _PORT + r"\s*$")),
    (
        "max_auth_exceeded",
        re.compile(
            r"^error: maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+) from "
            + _IP
            + _PORT
        ),
    ),
    (
        "connection_closed_preauth",
        re.compile(
            r"^Connection closed by (?:(?:authenticating|invalid) user (?P<user>\S+) )?"
            + _IP
            + _PORT
            + r" \[preauth\]"
        ),
    ),
    (
        "disconnected",
        re.compile(r"^Disconnected from (?:(?:authenticating|invalid) user (?P<user>\S+) )?" + _IP + _PORT),
    ),
    (
        "disconnect_received",
        re.compile(
            r"^(?:error: )?Received disconnect from " + _IP + _PORT + r": ?(?:(?P<code>\d+): )?(?P<reason>.*)"
        ),
    ),
    (
        "reverse_mapping_failed",
        re.compile(r"^reverse mapping checking getaddrinfo for (?P<rhost>\S+) \[" + _IP + r"\]"),
    ),
    ("no_identification", re.compile(r"^Did not receive identification string from " + _IP + _PORT)),
    ("preauth_invalid_user", re.compile(r"^input_userauth_request: invalid user (?P<user>.*?) \[preauth\]")),
]

# PAM lines: "pam_unix(sshd:auth): authentication failure; ... rhost=1.2.3.4  user=root"; loghub's
# Linux sample writes the module in the tag instead ("sshd(pam_unix)[123]: authentication failure; …")
_PAM_FAILURE = re.compile(
    r"(?:^|: )(?P<more>PAM (?P<count>\d+) more )?authentication failures?;.*?\brhost=(?P<rhost>\S*)"
    r"(?:\s+user=(?P<user>\S+))?"
)
_PAM_SESSION = re.compile(r"session (?P<state>opened|closed) for user (?P<user>\S+)")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def parse_auth(record: SyslogRecord) -> Event:
    """Normalise one auth-related syslog record; unrecognised messages become generic events."""
    app = record.app_name or ""
    message = record.message
    if app == "sshd":
        for event_type, pattern in SSHD_PATTERNS:
            if m := pattern.match(message):
                groups: dict[str, object] = {k: v for k, v in m.groupdict().items() if v is not None}
                if "src_port" in groups:
                    groups["src_port"] = int(str(groups["src_port"]))
                invalid = groups.pop("invalid", None)
                if invalid:
                    groups["UserExists"] = "false"
                return from_syslog(record, event_type, **groups)
    if m := _PAM_FAILURE.search(message):
        rhost = m.group("rhost")
        extra: dict[str, object] = {"user": m.group("user"), "rhost": rhost or None}
        if rhost and _IPV4.match(rhost):
            extra["src_ip"] = rhost
        if m.group("count"):
            extra["Count"] = int(m.group("count"))
        return from_syslog(
            record, "pam_auth_failure_repeat" if m.group("more") else "pam_auth_failure", **extra
        )
    if m := _PAM_SESSION.search(message):
        return from_syslog(record, f"session_{m.group('state')}", user=m.group("user"))
    return firewall_event(record) or from_syslog(record)
