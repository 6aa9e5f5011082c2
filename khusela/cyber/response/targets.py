"""Turning what an analyst typed into a target that is safe to block.

Every refusal here prevents a self-inflicted outage: a fat-fingered `0.0.0.0/1`, a block on
`gov.za`, or a block that would cut the province off from its own platform. Reasons are one
plain sentence, because they are shown to the analyst as they stand."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

import idna

from khusela.core.errors import InvalidInput

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Never block anything wider than this: a /16 is a whole provider's allocation already.
WIDEST_V4 = 16
WIDEST_V6 = 32

_SPECIAL_V4 = (
    (ipaddress.IPv4Network("0.0.0.0/8"), "the unspecified ('this network') range"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "a loopback address"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "a link-local address"),
    (ipaddress.IPv4Network("224.0.0.0/4"), "a multicast address"),
    (ipaddress.IPv4Network("255.255.255.255/32"), "the broadcast address"),
)
_SPECIAL_V6 = (
    (ipaddress.IPv6Network("::/128"), "the unspecified address"),
    (ipaddress.IPv6Network("::1/128"), "a loopback address"),
    (ipaddress.IPv6Network("fe80::/10"), "a link-local address"),
    (ipaddress.IPv6Network("ff00::/8"), "a multicast address"),
)
_V4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

# Zones under which anyone can register a name: blocking one of these blocks thousands of
# organisations. South African second-level zones first; single labels (za, com) are refused
# separately. A short list is enough: the analyst means one organisation's name, not a registry.
PUBLIC_SUFFIXES = frozenset(
    {
        "co.za", "org.za", "gov.za", "ac.za", "net.za", "web.za", "nom.za", "edu.za", "mil.za",
        "law.za", "school.za", "nic.za", "alt.za", "ngo.za", "tm.za", "agric.za", "grondar.za",
        "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "co.nz", "co.ke", "com.ng", "co.zw",
        "co.bw", "com.na", "co.mz", "com.br", "co.jp", "co.in", "com.cn",
    }
)  # fmt: skip

# Every blocked domain becomes `*.<name>.rpz.khusela.` in the RPZ zone; a DNS name has at most
# 255 octets on the wire, which leaves 239 characters for the name itself.
RPZ_ORIGIN = "rpz.khusela."
LONGEST_DOMAIN = 255 - len("*.") - len(RPZ_ORIGIN) - 2

_LDH_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_MESSAGE_ID = re.compile(
    r"<(?P<left>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<right>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"|\[[\x21-\x5a\x5e-\x7e]*\])>"
)
# Real phishing forges Message-IDs that break the grammar (`<x+a@pot@host>`); the gateway must
# still be able to hold them, so visible ASCII without angle brackets and with an `@` inside is
# accepted too. Whitespace and control characters never are.
_LOOSE_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
LONGEST_MESSAGE_ID = 995  # an RFC 5322 line is at most 998 characters, "Message-ID:" needs room too


class InvalidTarget(InvalidInput):
    """A response-action target that cannot, or must not, be blocked."""


def parse_ip_target(text: str, protected: Sequence[str] = ()) -> IPNetwork:
    """An address (`203.0.113.7`) or network (`203.0.113.0/24`, v4 or v6) that may be blocked.

    Single addresses come back as /32 or /128 networks. `protected` lists networks (the
    platform's own, the government's) that no block may touch, not even by covering them."""
    raw = text.strip()
    if not raw:
        raise InvalidTarget("no IP address given")
    if "%" in raw:
        raise InvalidTarget(f"{raw!r} carries an interface scope; give the address without '%...'")
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(raw, strict=False)
            raise InvalidTarget(f"{raw!r} has host bits set; did you mean {loose}?") from None
        raise InvalidTarget(f"{raw!r} is not an IP address or network") from None
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_V4_MAPPED):
        raise InvalidTarget(f"{raw!r} is an IPv4-mapped IPv6 address; write it as plain IPv4")
    widest = WIDEST_V4 if network.version == 4 else WIDEST_V6
    if network.prefixlen < widest:
        raise InvalidTarget(f"{network} is too wide to block (more than a /{widest}); block smaller networks")
    for special, what in _SPECIAL_V4 if network.version == 4 else _SPECIAL_V6:
        if network.overlaps(special):
            raise InvalidTarget(f"{network} is or contains {what}, which cannot be blocked")
    for entry in protected:
        guarded = _protected_network(entry)
        if guarded.version == network.version and network.overlaps(guarded):
            raise InvalidTarget(f"{network} overlaps protected network {guarded}; it must never be blocked")
    return network


def address_text(network: IPNetwork) -> str:
    """A network as firewalls and lists expect it: a bare address for a single host."""
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


def _protected_network(entry: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        raise InvalidInput(f"protected network {entry!r} in the settings is not a network") from None


def parse_domain_target(text: str, protected: Sequence[str] = ()) -> str:
    """A host or domain name that may be blocked, as its lower-case A-label form without a
    trailing dot (`Ëvil.co.za.` → `xn--vil-8ma.co.za`). The block also covers every name under
    it, so a domain that *contains* a protected one is refused as well as one inside it."""
    name = _domain(text)
    if name in PUBLIC_SUFFIXES:
        raise InvalidTarget(f"{name} is a public registry zone; block one organisation's name under it")
    for entry in protected:
        guarded = _domain(entry, what="protected domain")
        if name == guarded or name.endswith("." + guarded):
            raise InvalidTarget(f"{name} is under protected domain {guarded}; it must never be blocked")
        if guarded.endswith("." + name):
            raise InvalidTarget(f"blocking {name} would also block protected domain {guarded}")
    return name


def _domain(text: str, what: str = "domain") -> str:
    raw = text.strip()
    error = InvalidInput if what != "domain" else InvalidTarget
    if not raw:
        raise error(f"no {what} given")
    if "://" in raw or "/" in raw or "@" in raw or ":" in raw:
        raise error(f"{raw!r} is not a bare host name; give only the name, e.g. evil.example")
    if raw.startswith("*."):
        raise error(f"{raw!r}: leave out the '*.'; names under a blocked domain are blocked too")
    name = raw[:-1] if raw.endswith(".") else raw
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise error(f"{raw!r} is not a valid host name ({exc})") from None
    labels = ascii_name.split(".")
    if not all(_LDH_LABEL.fullmatch(label) for label in labels):
        raise error(f"{raw!r} is not a valid host name (letters, digits and hyphens only)")
    if len(labels) < 2:
        raise error(f"{ascii_name} is a top-level domain, not an organisation's name")
    if labels[-1].isdigit() or _is_ip(name):
        raise error(f"{raw!r} is an IP address; block it as an IP target")
    if len(ascii_name) > LONGEST_DOMAIN:
        raise error(f"{ascii_name[:40]}... is too long to list in the RPZ zone ({LONGEST_DOMAIN} characters)")
    return ascii_name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_message_target(text: str) -> str:
    """An RFC 5322 Message-ID (`<abc@host>`; angle brackets are added if missing), the handle a
    mail gateway uses to find and hold the message. Forged IDs seen in real phishing (a second
    `@`, a stray character) are accepted as long as they are one visible ASCII token."""
    raw = text.strip()
    if not raw:
        raise InvalidTarget("no Message-ID given")
    if not raw.startswith("<"):
        raw = f"<{raw}>"
    if len(raw) > LONGEST_MESSAGE_ID:
        raise InvalidTarget(f"Message-ID is too long ({len(raw)} characters, at most {LONGEST_MESSAGE_ID})")
    if not (_MESSAGE_ID.fullmatch(raw) or _LOOSE_MESSAGE_ID.fullmatch(raw)):
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        raise InvalidTarget(f"{shown!r} is not a Message-ID of the form <left-part@right-part>")
    return raw
