"""What an analyst may type as a target, and every refusal that prevents a self-inflicted outage."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khusela.core.errors import InvalidInput
from khusela.cyber.response import (
    InvalidTarget,
    parse_domain_target,
    parse_ip_target,
    parse_message_target,
)

GOVERNMENT = ("196.4.0.0/16", "2c0f:f000::/32")  # stand-ins for settings' protected networks


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("203.0.113.7", "203.0.113.7/32"),
        (" 198.51.100.0/24 ", "198.51.100.0/24"),
        ("10.20.0.0/16", "10.20.0.0/16"),  # a compromised internal segment may be cut off
        ("2001:DB8::1", "2001:db8::1/128"),
        ("2001:db8:1::/48", "2001:db8:1::/48"),
        ("2001:db8::/32", "2001:db8::/32"),
    ],
)
def test_ip_targets_come_back_as_networks(typed: str, expected: str) -> None:
    assert parse_ip_target(typed) == ipaddress.ip_network(expected)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("0.0.0.0/1", "too wide"),
        ("10.0.0.0/15", "too wide"),
        ("2001:db8::/31", "too wide"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - a target to refuse, not a bind address
        ("::", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("255.255.0.0/16", "broadcast"),
        ("198.51.100.7/24", "did you mean 198.51.100.0/24"),
        ("fe80::1%eth0", "scope"),
        ("::ffff:203.0.113.7", "plain IPv4"),
        ("203.0.113", "not an IP"),
        ("evil.example", "not an IP"),
        ("", "no IP"),
    ],
)
def test_ip_targets_that_would_hurt_are_refused_in_plain_words(typed: str, words: str) -> None:
    with pytest.raises(InvalidTarget, match=words) as caught:
        parse_ip_target(typed)
    assert isinstance(caught.value, InvalidInput)
    assert "\n" not in caught.value.detail


@pytest.mark.parametrize("typed", ["196.4.20.1", "196.4.0.0/16", "2c0f:f000:1::/48"])
def test_protected_networks_cannot_be_blocked(typed: str) -> None:
    with pytest.raises(InvalidTarget, match="protected network"):
        parse_ip_target(typed, GOVERNMENT)


def test_a_network_covering_a_protected_one_is_refused_too() -> None:
    with pytest.raises(InvalidTarget, match=re.escape("overlaps protected network 196.4.7.0/24")):
        parse_ip_target("196.4.0.0/16", ("196.4.7.0/24",))
    assert parse_ip_target("196.5.0.0/16", ("196.4.7.0/24",)) == ipaddress.ip_network("196.5.0.0/16")


def test_a_misconfigured_protected_list_is_reported_as_such() -> None:
    with pytest.raises(InvalidInput, match="in the settings"):
        parse_ip_target("203.0.113.7", ("not-a-network",))


@given(st.ip_addresses())
def test_every_accepted_address_round_trips(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    try:
        network = parse_ip_target(str(address))
    except InvalidTarget:
        return
    assert network.num_addresses == 1
    assert network.network_address == address
    assert parse_ip_target(str(network)) == network


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Evil-Login.example", "evil-login.example"),
        ("mail.evil.co.za.", "mail.evil.co.za"),
        ("münchen-bank.de", "xn--mnchen-bank-thb.de"),
        ("ÉVIL.co.za", "xn--vil-9la.co.za"),
        ("xn--vil-9la.co.za", "xn--vil-9la.co.za"),
        ("gautengg.gov.za.example", "gautengg.gov.za.example"),
    ],
)
def test_domains_come_back_as_lower_case_a_labels(typed: str, expected: str) -> None:
    assert parse_domain_target(typed) == expected
    assert parse_domain_target(expected) == expected


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("za", "top-level"),
        ("com", "top-level"),
        ("co.za", "public registry zone"),
        ("gov.za", "public registry zone"),
        ("ORG.ZA.", "public registry zone"),
        ("nom.za", "public registry zone"),
        ("https://evil.example/login", "bare host name"),
        ("user@evil.example", "bare host name"),
        ("*.evil.example", "leave out"),
        ("evil_host.example", "not a valid host name"),
        ("-evil.example", "not a valid host name"),
        ("evil..example", "not a valid host name"),
        ("evil example.com", "not a valid host name"),
        ("203.0.113.7", "IP address"),
        ("a" * 64 + ".example", "not a valid host name"),
        (".".join(["a" * 60] * 4) + ".za", "too long"),
        ("", "no domain"),
    ],
)
def test_domains_that_cannot_be_blocked_are_refused(typed: str, words: str) -> None:
    with pytest.raises(InvalidTarget, match=words):
        parse_domain_target(typed)


@pytest.mark.parametrize("typed", ["gauteng.gov.za", "www.gauteng.gov.za", "Mail.Gauteng.Gov.Za."])
def test_names_under_a_protected_domain_are_refused(typed: str) -> None:
    with pytest.raises(InvalidTarget, match=re.escape("protected domain gauteng.gov.za")):
        parse_domain_target(typed, ("gauteng.gov.za",))


def test_a_parent_of_a_protected_name_is_refused_because_the_block_covers_children() -> None:
    with pytest.raises(
        InvalidTarget, match=re.escape("would also block protected domain portal.health.example")
    ):
        parse_domain_target("health.example", ("portal.health.example",))
    assert parse_domain_target("gauteng-gov.za.example", ("gauteng.gov.za",)) == "gauteng-gov.za.example"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("<20260301.abc$x@mail.evil.example>", "<20260301.abc$x@mail.evil.example>"),
        ("CAF=z+q_{1}@host", "<CAF=z+q_{1}@host>"),
        ("  <a.b@[192.0.2.1]>  ", "<a.b@[192.0.2.1]>"),
    ],
)
def test_message_ids_are_validated_and_bracketed(typed: str, expected: str) -> None:
    assert parse_message_target(typed) == expected
    assert parse_message_target(expected) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "<no-at-sign>",
        "<a@b",
        "<a b@host>",
        "<a@host>\n<b@host>",
        "<a\tb@host>",
        "<a<b@host>",
        "<@host>",
        "<a@>",
        "<ä@host>",
    ],
)
def test_malformed_message_ids_are_refused(typed: str) -> None:
    with pytest.raises(InvalidTarget):
        parse_message_target(typed)


def test_an_overlong_message_id_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidTarget, match="too long"):
        parse_message_target("<" + "a" * 1000 + "@host>")


def test_forged_message_ids_seen_in_real_phishing_can_still_be_held() -> None:
    assert parse_message_target("<MZ.55893.245+phishing@pot=110979@email.example>") == (
        "<MZ.55893.245+phishing@pot=110979@email.example>"
    )
