"""The DNS Response Policy Zone: resolvers (BIND `response-policy`, Unbound `rpz:`, PowerDNS
Recursor, Knot Resolver) answer NXDOMAIN for a blocked name and every name under it.

A resolver that loads a broken zone keeps serving the old one at best, or none at all at worst,
so the text is parsed back with dnspython and its owner names compared with what was meant
before it may replace the published file."""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rdatatype
import dns.zone

from khusela.core.errors import KhuselaError
from khusela.cyber.response.active import Current
from khusela.cyber.response.model import ActiveBlock
from khusela.cyber.response.targets import RPZ_ORIGIN
from khusela.cyber.response.text import iso_utc, restricted

TTL = 300  # seconds a resolver may cache a policy answer: a revert is felt within five minutes
# `;` starts a comment, `(`/`)` continue a record over lines, `"` quotes, `$` starts a directive,
# `\` escapes, `@` is the origin: none of them has any business in a comment copied from a reason.
_ZONE_FORBIDDEN = ';()"$\\@'
LONGEST_SERIAL = 2**32 - 1


class ZoneRejected(KhuselaError):
    """The rendered zone did not parse back to what was meant; the published one is kept."""

    status = 500
    title = "RPZ zone rejected"


def _comment(block: ActiveBlock) -> str:
    until = iso_utc(block.expires_at) if block.expires_at else "revoked"
    reason = restricted(block.reason, _ZONE_FORBIDDEN, ascii_only=True) or "no reason given"
    return f"; action {block.action_id} until {until} - {reason}"


def render(current: Current, serial: int) -> str:
    """The zone text: SOA (with `serial`) and NS at the origin, then `name CNAME .` and
    `*.name CNAME .` (the RPZ spelling of "answer NXDOMAIN") per blocked domain."""
    if not 0 < serial <= LONGEST_SERIAL:
        raise ValueError(f"RPZ serial must be between 1 and {LONGEST_SERIAL}, not {serial}")
    lines = [
        f"; Khusela cyber response: DNS blocklist generated {iso_utc(current.now)}, serial {serial}.",
        "; Written by khusela.cyber.response; do not edit, the next publish replaces this file.",
        f"$ORIGIN {RPZ_ORIGIN}",
        f"$TTL {TTL}",
        f"@ IN SOA localhost. hostmaster.localhost. {serial} 3600 600 604800 {TTL}",
        "@ IN NS localhost.",
    ]
    by_name: dict[str, list[ActiveBlock]] = {}
    for name, block in current.domains:
        by_name.setdefault(name, []).append(block)
    for name, blocks in by_name.items():
        lines.extend(_comment(block) for block in blocks)
        lines.append(f"{name} IN CNAME .")
        lines.append(f"*.{name} IN CNAME .")
    return "\n".join(lines) + "\n"


def expected_owners(current: Current) -> set[str]:
    """Every owner name the zone for `current` must hold (absolute, with trailing dot)."""
    owners = {RPZ_ORIGIN}
    for name, _ in current.domains:
        owners |= {f"{name}.{RPZ_ORIGIN}", f"*.{name}.{RPZ_ORIGIN}"}
    return owners


def check(text: str, owners: set[str], serial: int) -> None:
    """Parse `text` as a zone and insist it holds exactly `owners`, an SOA with `serial`, and
    nothing but the NXDOMAIN policy below the origin. Raises `ZoneRejected` otherwise."""
    try:
        zone = dns.zone.from_text(text, origin=RPZ_ORIGIN, relativize=False, check_origin=True)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ZoneRejected(f"the RPZ zone does not parse: {exc}") from None
    found = {name.to_text() for name in zone.nodes}
    if found != owners:
        extra, missing = sorted(found - owners), sorted(owners - found)
        raise ZoneRejected(f"the RPZ zone holds unexpected names {extra[:3]} / lacks {missing[:3]}")
    soa = zone.get_soa()
    if soa.serial != serial:
        raise ZoneRejected(f"the RPZ zone's serial is {soa.serial}, not {serial}")
    origin = dns.name.from_text(RPZ_ORIGIN)
    for name, node in zone.nodes.items():
        if name == origin:
            continue
        kinds = {(r.rdtype, r[0].to_text() if len(r) == 1 else "") for r in node.rdatasets}
        if kinds != {(dns.rdatatype.CNAME, ".")}:
            raise ZoneRejected(f"the RPZ zone's {name} is not a plain NXDOMAIN policy")
