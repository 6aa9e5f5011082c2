"""OpenSSH and PAM lines become logon events with Sigma-style fields."""

from __future__ import annotations

import pytest

from khusela.cyber.ingest import normalise, parse
from khusela.cyber.ingest.normalise import Event
from khusela.cyber.ingest.syslog import SyslogRecord

PREFIX = "Dec 10 06:55:46 LabSZ sshd[24200]: "


def event(message: str, prefix: str = PREFIX) -> Event:
    record = parse(prefix + message, year=2016)
    assert isinstance(record, SyslogRecord)
    return normalise(record)


@pytest.mark.parametrize(
    ("message", "event_type", "fields"),
    [
        (
            "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
            "logon_failure",
            {
                "TargetUserName": "webmaster",
                "SourceIp": "173.234.31.186",
                "SourcePort": 38926,
                "EventID": 4625,
            },
        ),
        (
            "Failed password for root from 2001:db8::1 port 22 ssh2",
            "logon_failure",
            {"TargetUserName": "root", "SourceIp": "2001:db8::1"},
        ),
        (
            "Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
            "logon_success",
            {"TargetUserName": "fztu", "SourceIp": "119.137.62.142", "EventID": 4624},
        ),
        (
            "Invalid user admin from 5.36.59.76",
            "invalid_user",
            {"TargetUserName": "admin", "SourceIp": "5.36.59.76"},
        ),
        (
            "Connection closed by authenticating user root 10.0.0.9 port 5050 [preauth]",
            "connection_closed_preauth",
            {"TargetUserName": "root", "SourceIp": "10.0.0.9", "SourcePort": 5050},
        ),
        ("Connection closed by 10.0.0.9 [preauth]", "connection_closed_preauth", {"SourceIp": "10.0.0.9"}),
        (
            "Disconnected from invalid user oracle 10.0.0.7 port 41 [preauth]",
            "disconnected",
            {"TargetUserName": "oracle", "SourceIp": "10.0.0.7"},
        ),
        (
            "error: maximum authentication attempts exceeded for root from 10.0.0.8 port 3 ssh2 [preauth]",
            "max_auth_exceeded",
            {"TargetUserName": "root", "SourceIp": "10.0.0.8"},
        ),
        (
            "Received disconnect from 10.0.0.6: 11: Bye Bye [preauth]",
            "disconnect_received",
            {"SourceIp": "10.0.0.6", "reason": "Bye Bye [preauth]"},
        ),
        (
            "reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE",
            "reverse_mapping_failed",
            {"SourceIp": "173.234.31.186", "rhost": "ns.example.com"},
        ),
        (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=1.2.3.4  user=root",
            "pam_auth_failure",
            {"SourceIp": "1.2.3.4", "TargetUserName": "root"},
        ),
        (
            "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=1.2.3.4  user=root",
            "pam_auth_failure_repeat",
            {"Count": 5},
        ),
        ("Server listening on 0.0.0.0 port 22.", "syslog", {"Application": "sshd"}),
    ],
)
def test_sshd_lines(message: str, event_type: str, fields: dict[str, object]) -> None:
    e = event(message)
    assert e.event_type == event_type
    for key, value in fields.items():
        assert e[key] == value
    assert e.logsource.service == "sshd"
    assert e.logsource.category == "authentication"
    assert e.raw == PREFIX + message


def test_short_names_resolve_to_sigma_names() -> None:
    e = event("Failed password for root from 1.2.3.4 port 22 ssh2")
    assert e.get("src_ip") == e["SourceIp"] == "1.2.3.4"
    assert e["user"] == "root"
    assert e["event_type"] == "logon_failure"
    assert e.get("host") == "LabSZ"
    assert "Message" in e


def test_pam_in_tag_as_in_loghub_linux() -> None:
    e = event(
        "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=host.example.net  user=root",
        prefix="Jun 15 02:04:59 combo sshd(pam_unix)[20882]: ",
    )
    assert e.event_type == "pam_auth_failure"
    assert e["rhost"] == "host.example.net"
    assert "SourceIp" not in e


def test_iptables_line_becomes_firewall_event() -> None:
    e = event(
        "IN=eth0 OUT= MAC=00 SRC=10.1.1.1 DST=10.2.2.2 LEN=60 PROTO=TCP SPT=4444 DPT=22 WINDOW=1024 SYN",
        prefix="Jan  1 00:00:00 fw kernel: ",
    )
    assert e.event_type == "firewall"
    assert e.logsource.category == "firewall"
    assert (e["src_ip"], e["dst_port"], e["Protocol"]) == ("10.1.1.1", 22, "tcp")
