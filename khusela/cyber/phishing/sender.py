"""Who the message claims to be from, and whether the address behind the name fits the claim.
These checks read only From/Reply-To/Return-Path and the subject, never dates or mailer names:
the age of a message says nothing about its honesty."""

from __future__ import annotations

import re
import unicodedata

from khusela.cyber.phishing.domains import CONFUSABLES, ProtectedDomains, lookalike, registrable
from khusela.cyber.phishing.evidence import IMPERSONATION, LOOKALIKE, MISMATCH, SENDER, Evidence
from khusela.cyber.phishing.parse import Address, Mail

FREE_MAIL = frozenset(
    [
        "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
        "aol.com", "mail.ru", "yandex.ru", "icloud.com", "proton.me", "protonmail.com", "gmx.com",
        "gmx.de", "web.de", "mail.com", "zoho.com", "yahoo.co.uk", "hotmail.co.uk", "outlook.fr",
        "hotmail.fr", "yahoo.fr", "libero.it", "qq.com", "163.com", "indamail.hu",
    ]
)  # fmt: skip
# Top-level domains that registries sell for cents and abuse reports name again and again.
ABUSED_TLDS = frozenset(
    "shop best beauty click xyz top online site store cfd sbs lol icu buzz rest bond quest monster "  # noqa: SIM905 - a word list reads better than 60 quoted strings
    "cyou autos boats homes makeup skin hair fun space website life today world pw tk ml ga cf gq "
    "work live club loan win bid date racing men review stream download".split()
)
# Free hosting where anyone can publish a page or send from a sub-domain in minutes.
FREE_HOSTING = (
    "firebaseapp.com", "web.app", "storage.googleapis.com", "firebasestorage.googleapis.com",
    "digitaloceanspaces.com", "blob.core.windows.net", "s3.amazonaws.com", "r2.dev", "pages.dev",
    "workers.dev", "netlify.app", "vercel.app", "github.io", "glitch.me", "herokuapp.com",
    "ipfs.io", "dweb.link", "000webhostapp.com", "weebly.com", "wixsite.com", "blogspot.com",
    "sites.google.com", "forms.gle", "onmicrosoft.com", "azurewebsites.net", "ngrok.io",
    "ngrok-free.app", "trycloudflare.com", "repl.co", "firebaseio.com", "appspot.com",
)  # fmt: skip
ORGANISATION_WORDS = re.compile(
    r"\b(bank|team|support|service|services|security|admin|administrator|court|government|department|"
    r"revenue|police|customer|account|accounts|billing|helpdesk|help desk|office|notification|"
    r"delivery|post|postal|customs|tax|payroll|hr|it desk|microsoft|official|inc|ltd|llc|company)\b",
    re.IGNORECASE,
)
_DOMAIN_IN_NAME = re.compile(r"\b((?:[a-z0-9-]+\.)+(?:com|net|org|info|biz|co|io|za|de|br|uk|us))\b", re.I)


def fold(text: str) -> str:
    """What a reader sees: styled letters (mathematical bold, full-width) and Cyrillic look-alikes
    folded to plain Latin."""
    plain = unicodedata.normalize("NFKC", text)
    return "".join(CONFUSABLES.get(c, c) if not c.isascii() else c for c in plain).lower()


def on_hosting(domain: str) -> str | None:
    """The free-hosting zone `domain` lives under, if any."""
    return next((h for h in FREE_HOSTING if domain == h or domain.endswith("." + h)), None)


def owns(domain: str, owned: tuple[str, ...]) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in owned)


def brand_claims(text: str, protected: ProtectedDomains, domain: str) -> str | None:
    """The protected brand `text` names (after folding look-alike letters), unless `domain` is theirs."""
    folded = fold(text)
    for brand, owned in protected.brands.items():
        if re.search(rf"(?<![a-z0-9]){re.escape(brand.lower())}(?![a-z0-9])", folded) and not owns(
            domain, owned
        ):
            return brand
    return None


def random_local(local: str) -> bool:
    """`xeoriiqkew`, `join_now_82050`, `assistant-azpkzmuobylznikotqcq`: names no person or role uses."""
    letters = re.sub(r"[^a-z]", "", local)
    return bool(
        re.search(r"\d{4,}", local)
        or re.search(r"[bcdfghjklmnpqrstvwxz]{5,}", letters)
        or (len(letters) >= 10 and sum(c in "aeiouy" for c in letters) / len(letters) < 0.25)
    )


def sender_checks(mail: Mail, protected: ProtectedDomains, ev: Evidence) -> None:
    sender = mail.sender
    if sender is None or not sender.address:
        ev.add(10, "The message has no usable From address", SENDER)
        return
    domain, display = sender.domain, sender.display
    base = registrable(domain) if domain else ""
    own_name = base.split(".")[0]
    names_itself = len(own_name) >= 4 and own_name in fold(display).replace(" ", "")
    if not names_itself and brand_claims(display, protected, domain):
        ev.add(
            35,
            f"The sender's display name says '{display}' but the address is at {domain or '?'}",
            IMPERSONATION,
        )
    elif brand := brand_claims(mail.subject, protected, domain):
        ev.add(10, f"The subject names {brand} but the sender's address is at {domain or '?'}", IMPERSONATION)
    embedded = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", display)
    if embedded and all(registrable(e.lower().rpartition("@")[2]) != base for e in embedded):
        ev.add(
            20,
            f"The display name shows the address {embedded[0]} but the mail is from {sender.address}",
            IMPERSONATION,
        )
    elif (shown := _DOMAIN_IN_NAME.search(display)) and base and registrable(shown.group(1)) != base:
        ev.add(
            10,
            f"The display name names the site {shown.group(1)} but the mail is from {domain}",
            IMPERSONATION,
        )
    if domain in FREE_MAIL and ORGANISATION_WORDS.search(display):
        ev.add(
            25,
            f"'{display}' claims to be an organisation but writes from a free mailbox ({domain})",
            IMPERSONATION,
        )
    if "." not in domain:
        ev.add(15, f"The sender address {sender.address} has no real domain", SENDER)
    for reason in lookalike(domain, protected):
        ev.add(40, f"Sender: {reason}", LOOKALIKE)
    name = base.split(".")[0]
    if len(name) >= 8 and (
        sum(c.isdigit() for c in name) >= 2 or re.search(r"[bcdfghjklmnpqrstvwxz]{5}", name)
    ):
        ev.add(10, f"The sender's domain {base} looks machine-generated", SENDER)
    if random_local(sender.address.partition("@")[0]):
        ev.add(
            5,
            f"The sender's mailbox name '{sender.address.partition('@')[0]}' looks machine-generated",
            SENDER,
        )
    if (tld := domain.rpartition(".")[2]) in ABUSED_TLDS:
        ev.add(
            10,
            f"The sender's domain is under .{tld}, a cheap top-level domain much used for throw-away sites",
            SENDER,
        )
    if hosting := on_hosting(domain):
        ev.add(
            25,
            f"The mail comes from {domain}, a free hosting service anyone can send from ({hosting})",
            SENDER,
        )
    routing(mail, sender, base, ev)


def routing(mail: Mail, sender: Address, base: str, ev: Evidence) -> None:
    """Where replies and bounces go: a thief wants the answer, not the brand he borrowed."""
    domain, rt = sender.domain, mail.reply_to
    if rt and rt.address != sender.address and domain in FREE_MAIL and rt.domain in FREE_MAIL:
        ev.add(20, f"Replies go to a different free mailbox ({rt.address}) than the sender's", MISMATCH)
    elif rt and rt.domain and base and registrable(rt.domain) != base:
        free = rt.domain in FREE_MAIL
        ev.add(20 if free else 10, f"Replies go to {rt.address}, not to the sender's domain {base}", MISMATCH)
    rp = mail.return_path
    if rp and rp.address and base:
        if "." not in rp.domain:
            ev.add(10, f"The bounce address (Return-Path) {rp.address} has no real domain", MISMATCH)
        elif registrable(rp.domain) != base:
            ev.add(5, f"The bounce address (Return-Path) is at {rp.domain}, not at {base}", MISMATCH)
