"""Link and form checks: where the message sends the reader, against what it shows them."""

from __future__ import annotations

from khusela.cyber.phishing.domains import ProtectedDomains, lookalike, registrable
from khusela.cyber.phishing.evidence import CREDENTIALS, LINKS, LOOKALIKE, Evidence
from khusela.cyber.phishing.parse import Mail
from khusela.cyber.phishing.sender import ABUSED_TLDS, on_hosting
from khusela.cyber.phishing.urls import (
    SHORTENERS,
    Form,
    Link,
    host_of,
    is_ip,
    redirect_targets,
    shown_domain,
)


def link_checks(
    mail: Mail,
    links: list[Link],
    forms: list[Form],
    passwords: int,
    protected: ProtectedDomains,
    ev: Evidence,
) -> None:
    sender_base = registrable(mail.sender.domain) if mail.sender and mail.sender.domain else ""
    redirects = 0
    lookups: set[str] = set()
    mismatched = False
    for link in links:
        href = link.href.strip()
        if href.lower().startswith("data:"):
            ev.add(
                30,
                "A link opens a page carried inside the link itself (a data: address), hiding its source",
                LINKS,
            )
            continue
        host = host_of(href)
        if host == "?":
            ev.add(20, f"A link's address uses disguised Unicode characters ({href[:60]})", LINKS)
            continue
        if not host:
            continue
        if is_ip(host):
            ev.add(
                30,
                f"A link goes to the bare IP address {host} instead of a named site"
                if not link.text
                else f"A link's text says '{link.text[:60]}' but it goes to {host}",
                LINKS,
            )
        base = registrable(host)
        if base in SHORTENERS or host in SHORTENERS:
            ev.add(10, f"A link is hidden behind the URL shortener {host}", LINKS)
        claimed = shown_domain(link.text)
        if claimed and registrable(claimed) != base and not is_ip(host) and not mismatched:
            mismatched = True  # one is evidence; more to the same tracker is just click counting
            ev.add(25, f"A link's text shows {claimed} but it goes to {host}", LINKS)
        if hosting := on_hosting(host):
            ev.add(
                20,
                f"A link goes to {host}, on a free hosting service ({hosting}), not the sender's own site",
                LINKS,
            )
        if (tld := host.rpartition(".")[2]) in ABUSED_TLDS and base != sender_base:
            ev.add(5, f"A link goes to {host}, under the cheap, much-abused .{tld} domain", LINKS)
        if host not in lookups:  # the edit-distance test is the slow part: once per host
            lookups.add(host)
            for reason in lookalike(host, protected):
                ev.add(35, f"Link: {reason}", LOOKALIKE)
        redirects += min(redirect_targets(href), 1)
    if redirects >= 3:
        ev.add(10, f"{redirects} links pass another web address in their query string (redirects)", LINKS)
    _forms(forms, passwords, sender_base, ev)


def _forms(forms: list[Form], passwords: int, sender_base: str, ev: Evidence) -> None:
    for form in forms:
        target = host_of(form.action)
        if form.password:
            ev.add(35, "The message contains a form asking for a password", CREDENTIALS)
        if form.password and target and target != "?" and registrable(target) != sender_base:
            ev.add(
                20,
                f"A form in the message sends what is typed to {target}, not to the sender's site",
                CREDENTIALS,
            )
    if passwords and not any(f.password for f in forms):
        ev.add(35, "The message contains a password box", CREDENTIALS)
