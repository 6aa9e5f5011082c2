"""Weigh the evidence into one verdict. Each check adds weight with a sentence an analyst can
verify in the raw message; the score is their sum, capped at 100."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from khusela.cyber.phishing.attachments import extension_reasons, macro_reasons
from khusela.cyber.phishing.domains import DEFAULT, ProtectedDomains, lookalike, registrable
from khusela.cyber.phishing.parse import Address, Mail, parse_mail
from khusela.cyber.phishing.urls import (
    SHORTENERS,
    Link,
    host_of,
    html_parts,
    is_ip,
    redirect_targets,
    shown_domain,
    text_links,
)

PHISHING_AT = 50
SUSPICIOUS_AT = 25
FREE_MAIL = frozenset(
    ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "aol.com", "mail.ru", "yandex.ru"]
)
CREDENTIAL = (
    "verify your account",
    "verify your identity",
    "confirm your identity",
    "confirm your password",
    "update your password",
    "update your payment",
    "update your account",
    "account will be suspended",
    "account has been suspended",
    "account will be closed",
    "account has been locked",
    "unusual activity",
    "unusual sign-in",
    "login to your account",
    "log in to your account",
    "sign in to your account",
    "validate your",
    "reactivate",
    "password will expire",
    "mailbox is full",
    "storage is full",
)
URGENCY = (
    "urgent",
    "immediately",
    "within 24 hours",
    "within 48 hours",
    "act now",
    "final notice",
    "last chance",
    "expires today",
    "expiring",
    "expira",
    "ablauf",
    "sofort",
    "limited time",
)
LURE = (
    "you have won",
    "congratulations",
    "winner",
    "claim your",
    "prize",
    "gift card",
    "reward",
    "refund",
    "inheritance",
    "beneficiary",
    "bitcoin",
    "crypto",
    "wallet",
    "parab",
    "gewinn",
    "gutschein",
    "pontos",
    "herzlichen glückwunsch",
    "free gift",
    "binance",
    "usdt",
    " nft",
    " eth ",
    "million",
    "has won",
    "you won",
)
MONEY_RE = re.compile(r"[$€£]\s?\(?\d[\d.,]{4,}|\d[\d.,]*\s?(?:usd|eur|btc|eth)\b", re.IGNORECASE)
HIDDEN_RE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px)?\s*[;\"']|margin-top\s*:\s*\d{4,}px",
    re.IGNORECASE,
)  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    score: int
    verdict: Literal["phishing", "suspicious", "clean"]
    reasons: list[str] = field(default_factory=list)


@dataclass
class _Evidence:
    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, weight: int, reason: str) -> None:
        if reason not in (r for _, r in self.items):
            self.items.append((weight, reason))


def _authentication(mail: Mail, ev: _Evidence) -> None:
    text = " ".join(mail.auth_results).lower()
    weights = {"spf": 15, "dkim": 15, "dmarc": 20}
    for mech, weight in weights.items():
        results = set(re.findall(rf"\b{mech}=(\w+)", text))
        if results & {"fail", "permerror"}:
            ev.add(
                weight,
                f"{mech.upper()} failed: the sending server is not authorised for the sender's domain"
                if mech == "spf"
                else f"{mech.upper()} failed for this message",
            )
        elif results & {"softfail", "temperror"}:
            ev.add(weight // 2, f"{mech.upper()} did not pass ({'/'.join(sorted(results))})")
        elif results and results <= {"none"}:
            ev.add(5, f"The sender's domain publishes no {mech.upper()} protection")


def _received(mail: Mail, ev: _Evidence) -> None:
    hops = [h for h in mail.received if h.lower().lstrip().startswith("from")]
    if not mail.received:
        ev.add(5, "The message carries no Received headers, so its path cannot be traced")
        return
    first = " ".join(hops[-1].split()) if hops else ""
    helo = first[5:].split(" ", 1)[0].lower() if first else ""
    if re.search(r"localhost|ubuntu|vps|^\[?\d+\.\d+\.\d+\.\d+\]?$|^user$|^win-", helo):
        ev.add(
            10,
            f"The first relay of its {len(mail.received)} hops introduced itself as '{helo}'"
            ", a throw-away or bare-IP host name",
        )


def _sender(mail: Mail, protected: ProtectedDomains, ev: _Evidence) -> None:
    sender = mail.sender
    if sender is None or not sender.address:
        ev.add(10, "The message has no usable From address")
        return
    domain = sender.domain
    base = registrable(domain) if domain else ""
    display = sender.display
    for brand, owned in protected.brands.items():
        pattern = rf"(?<![a-z0-9]){re.escape(brand.lower())}(?![a-z0-9])"
        if re.search(pattern, display.lower()) and not any(
            domain == d or domain.endswith("." + d) for d in owned
        ):
            ev.add(35, f"The sender's display name says '{display}' but the address is at {domain or '?'}")
            break
    embedded = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", display)
    if embedded and all(e.lower() != sender.address for e in embedded):
        ev.add(20, f"The display name shows the address {embedded[0]} but the mail is from {sender.address}")
    if (
        not display.isascii()
        and re.search(r"[a-z]", display.lower())
        and re.search("[\u0430-\u044f\u0456\u0458\u0455]", display.lower())
    ):
        ev.add(20, f"The display name '{display}' mixes Cyrillic look-alike letters into Latin text")
    if "." not in domain:
        ev.add(15, f"The sender address {sender.address} has no real domain")
    for reason in lookalike(domain, protected):
        ev.add(40, f"Sender: {reason}")
    name = base.split(".")[0]
    if len(name) >= 8 and (
        sum(c.isdigit() for c in name) >= 2 or re.search(r"[bcdfghjklmnpqrstvwxz]{5}", name)
    ):
        ev.add(10, f"The sender's domain {base} looks machine-generated")
    _routing(mail, sender, base, ev)


def _routing(mail: Mail, sender: Address, base: str, ev: _Evidence) -> None:
    """Where replies and bounces go: a thief wants the answer, not the brand he borrowed."""
    domain = sender.domain
    if (
        mail.reply_to
        and mail.reply_to.address != sender.address
        and domain in FREE_MAIL
        and mail.reply_to.domain in FREE_MAIL
    ):
        ev.add(20, f"Replies go to a different free mailbox ({mail.reply_to.address}) than the sender's")
    elif mail.reply_to and mail.reply_to.domain and base and registrable(mail.reply_to.domain) != base:
        free = mail.reply_to.domain in FREE_MAIL
        ev.add(
            20 if free else 10, f"Replies go to {mail.reply_to.address}, not to the sender's domain {base}"
        )
    rp = mail.return_path
    if rp and rp.address and base:
        if "." not in rp.domain:
            ev.add(10, f"The bounce address (Return-Path) {rp.address} has no real domain")
        elif registrable(rp.domain) != base:
            ev.add(5, f"The bounce address (Return-Path) is at {rp.domain}, not at {base}")


def _links(mail: Mail, protected: ProtectedDomains, ev: _Evidence) -> None:
    anchors, forms, passwords = html_parts(mail.html) if mail.html else ([], [], 0)
    links: list[Link] = anchors + text_links(mail.text)
    sender_base = registrable(mail.sender.domain) if mail.sender and mail.sender.domain else ""
    redirects = 0
    for link in links:
        host = host_of(link.href)
        if host == "?":
            ev.add(20, f"A link's address uses disguised Unicode characters ({link.href.strip()[:60]})")
            continue
        if not host:
            continue
        if is_ip(host):
            ev.add(
                30,
                f"A link goes to the bare IP address {host} instead of a named site"
                if not link.text
                else f"A link's text says '{link.text[:60]}' but it goes to {host}",
            )
        if registrable(host) in SHORTENERS or host in SHORTENERS:
            ev.add(10, f"A link is hidden behind the URL shortener {host}")
        claimed = shown_domain(link.text)
        if claimed and registrable(claimed) != registrable(host) and not is_ip(host):
            ev.add(25, f"A link's text shows {claimed} but it goes to {host}")
        for reason in lookalike(host, protected):
            ev.add(35, f"Link: {reason}")
        redirects += min(redirect_targets(link.href), 1)
    if redirects >= 3:
        ev.add(10, f"{redirects} links pass another web address in their query string (redirects)")
    for form in forms:
        target = host_of(form.action)
        if form.password:
            ev.add(35, "The message contains a form asking for a password")
        if form.password and target and registrable(target) != sender_base:
            ev.add(20, f"A form in the message sends what is typed to {target}")
    if passwords and not any(f.password for f in forms):
        ev.add(35, "The message contains a password box")


def _language(mail: Mail, ev: _Evidence) -> None:
    body = " ".join(
        (mail.subject + " " + mail.text + " " + re.sub(r"<[^>]+>", " ", mail.html)).lower().split()
    )
    for phrases, weight, cap, label in (
        (CREDENTIAL, 15, 30, "asks the reader to act on their account"),
        (URGENCY, 10, 15, "pressures the reader with urgency"),
        (LURE, 10, 20, "dangles money or prizes"),
    ):
        hits = [p for p in phrases if p in body]
        if phrases is LURE and (money := MONEY_RE.search(body)):
            hits.append(money.group(0))
        if hits:
            quoted = ", ".join(f"'{h}'" for h in hits[:3])
            ev.add(min(weight * len(hits), cap), f"The text {label}: {quoted}")


def _disguise(mail: Mail, ev: _Evidence) -> None:
    if HIDDEN_RE.search(mail.html):
        ev.add(10, "The HTML hides some of its text from the reader (hidden or pushed off-screen)")
    recipient = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*", mail.subject)
    if recipient:
        ev.add(10, f"The subject quotes an e-mail address ({recipient.group(0)}) to look personal")


def _attachments(mail: Mail, ev: _Evidence) -> None:
    for attachment in mail.attachments:
        for weight, reason in extension_reasons(attachment.filename) + macro_reasons(
            attachment.filename, attachment.data
        ):
            ev.add(weight, reason)


def analyse(raw_eml: bytes, protected: ProtectedDomains = DEFAULT) -> Verdict:
    """Score one raw message; never raises on malformed mail (a reported e-mail is evidence as-is)."""
    mail = parse_mail(raw_eml)
    ev = _Evidence()
    _authentication(mail, ev)
    _received(mail, ev)
    _sender(mail, protected, ev)
    _links(mail, protected, ev)
    _language(mail, ev)
    _disguise(mail, ev)
    _attachments(mail, ev)
    ranked = sorted(ev.items, key=lambda item: -item[0])
    score = min(100, sum(w for w, _ in ranked))
    verdict: Literal["phishing", "suspicious", "clean"] = (
        "phishing" if score >= PHISHING_AT else "suspicious" if score >= SUSPICIOUS_AT else "clean"
    )
    return Verdict(score=score, verdict=verdict, reasons=[r for _, r in ranked])
