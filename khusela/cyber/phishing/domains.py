"""Which organisation a domain belongs to, and whether it is dressed up as one we protect.

A small bundled suffix list stands in for the Public Suffix List: the analyser runs offline, and
South African mail mostly lives under a handful of second-level zones (gov.za, co.za …)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SUFFIXES = frozenset(
    [
        "gov.za",
        "co.za",
        "org.za",
        "ac.za",
        "net.za",
        "web.za",
        "nic.za",
        "mil.za",
        "za",
        "com",
        "net",
        "org",
        "gov",
        "edu",
        "int",
        "mil",
        "info",
        "biz",
        "io",
        "co",
        "me",
        "id",
        "us",
        "uk",
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "de",
        "fr",
        "nl",
        "be",
        "it",
        "es",
        "pt",
        "ru",
        "cn",
        "in",
        "au",
        "com.au",
        "br",
        "com.br",
        "net.br",
        "gov.br",
        "org.br",
        "jp",
        "co.jp",
        "ca",
        "mx",
        "com.mx",
        "ar",
        "com.ar",
        "ch",
        "at",
        "pl",
        "se",
        "no",
        "dk",
        "fi",
        "ie",
        "nz",
        "co.nz",
        "ke",
        "ng",
        "com.ng",
        "xyz",
        "top",
        "online",
        "site",
        "shop",
        "club",
        "app",
        "dev",
        "live",
        "store",
        "tech",
        "ly",
        "gl",
        "gd",
        "to",
        "ws",
        "cc",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
    ]
)

CONFUSABLES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",  # noqa: RUF001 - the look-alikes are the point
    "ԁ": "d", "ɡ": "g", "ѕ": "s", "ո": "n", "ı": "i", "ɩ": "l", "0": "o", "1": "l", "3": "e",  # noqa: RUF001 - the look-alikes are the point
    "5": "s", "|": "l",
}  # fmt: skip
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("i", "l"))


@dataclass(frozen=True)
class ProtectedDomains:
    """Domains we defend against look-alikes, and the names (display names) that claim them."""

    domains: tuple[str, ...]
    brands: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def owner(self, domain: str) -> str | None:
        """The protected domain `domain` is (or is under), if any."""
        domain = domain.lower().strip(".")
        every = set(self.domains) | {d for ds in self.brands.values() for d in ds}
        for protected in sorted(every, key=len, reverse=True):
            if domain == protected or domain.endswith("." + protected):
                return protected
        return None


_SA = {
    "SARS": ("sars.gov.za",),
    "South African Revenue Service": ("sars.gov.za",),
    "eFiling": ("sars.gov.za",),
    "Gauteng Provincial Government": ("gauteng.gov.za", "gpg.gov.za"),
    "Gauteng": ("gauteng.gov.za", "gpg.gov.za"),
    "SAPS": ("saps.gov.za",),
    "South African Police": ("saps.gov.za",),
    "Home Affairs": ("dha.gov.za",),
    "FNB": ("fnb.co.za",),
    "First National Bank": ("fnb.co.za",),
    "ABSA": ("absa.co.za",),
    "Standard Bank": ("standardbank.co.za",),
    "Capitec": ("capitecbank.co.za",),
    "Nedbank": ("nedbank.co.za",),
}
# Brands the world's phishing wears most; real reports to a SOC will carry them too.
_GLOBAL = {
    "Microsoft": ("microsoft.com", "office.com", "outlook.com", "live.com", "microsoftonline.com"),
    "Office 365": ("microsoft.com", "office.com"),
    "Outlook": ("microsoft.com", "outlook.com"),
    "Apple": ("apple.com", "icloud.com"),
    "iCloud": ("apple.com", "icloud.com"),
    "PayPal": ("paypal.com",),
    "Amazon": ("amazon.com", "amazon.co.za"),
    "Netflix": ("netflix.com",),
    "DHL": ("dhl.com", "dhl.de", "dhl.co.za"),
    "UPS": ("ups.com",),
    "FedEx": ("fedex.com",),
    "Walmart": ("walmart.com",),
    "McDonald's": ("mcdonalds.com",),
    "MetaMask": ("metamask.io",),
    "Coinbase": ("coinbase.com",),
    "Bradesco": ("bradesco.com.br",),
    "Google": ("google.com", "gmail.com"),
    "Facebook": ("facebook.com", "facebookmail.com"),
    "Instagram": ("instagram.com",),
    "WhatsApp": ("whatsapp.com",),
    "Wells Fargo": ("wellsfargo.com",),
    "Bank of America": ("bankofamerica.com",),
    "Chase": ("chase.com",),
    "DocuSign": ("docusign.com", "docusign.net"),
    "Norton": ("norton.com",),
    "McAfee": ("mcafee.com",),
    "Hilton": ("hilton.com",),
    "Costco": ("costco.com",),
    "State Farm": ("statefarm.com",),
    "Binance": ("binance.com",),
    "Proton": ("proton.me", "protonmail.com"),
    "Mercado Livre": ("mercadolivre.com.br",),
}

DEFAULT = ProtectedDomains(
    domains=(
        "gauteng.gov.za", "sars.gov.za", "gov.za", "saps.gov.za", "dha.gov.za",
        "fnb.co.za", "absa.co.za", "standardbank.co.za", "capitecbank.co.za", "nedbank.co.za",
    ),
    brands=_SA | _GLOBAL,
)  # fmt: skip


def registrable(host: str) -> str:
    """`mail.sars.gov.za` → `sars.gov.za`: the part an organisation actually registered."""
    labels = host.lower().strip(".").split(".")
    for i in range(len(labels)):
        if ".".join(labels[i:]) in SUFFIXES:
            return ".".join(labels[max(i - 1, 0) :])
    return ".".join(labels[-2:])


def skeleton(text: str) -> str:
    """What a hurried reader sees: confusable characters and letter pairs folded to one form."""
    folded = "".join(CONFUSABLES.get(c, c) for c in text.lower())
    for pair, single in _MULTI:
        folded = folded.replace(pair, single)
    return folded


def distance(a: str, b: str) -> int:
    """Levenshtein edit distance: a typo-squat differs from the real name by one or two edits."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _near(a: str, b: str, edits: int) -> bool:
    """1..`edits` edits apart; the length test first, because most hosts are nowhere near."""
    return abs(len(a) - len(b)) <= edits and 0 < distance(a, b) <= edits


def unpunycode(host: str) -> str:
    labels = []
    for label in host.split("."):
        try:
            labels.append(label.encode("ascii").decode("idna") if label.startswith("xn--") else label)
        except UnicodeError:
            labels.append(label)
    return ".".join(labels)


def lookalike(host: str, protected: ProtectedDomains = DEFAULT) -> list[str]:
    """Plain-language reasons `host` imitates a protected domain; empty if it is one, or unrelated."""
    host = host.lower().strip(".")
    if not host or "." not in host or protected.owner(host):
        return []
    reasons: list[str] = []
    shown = unpunycode(host)
    if shown != host:
        reasons.append(f"The domain {host} is punycode: it displays as '{shown}'")
    elif not host.isascii():
        reasons.append(f"The domain {host} mixes in non-Latin characters that look like Latin ones")
    reg = registrable(shown)
    name = reg.split(".")[0]
    for real in protected.domains:
        real_name = real.split(".")[0]
        if f".{real}." in f".{shown}.":
            reasons.append(f"{host} puts the protected name {real} in front of another domain ({reg})")
        elif skeleton(reg) == skeleton(real) or skeleton(shown) == skeleton(real):
            reasons.append(f"{host} uses look-alike characters to imitate {real}")
        elif _near(reg, real, 2 if len(real) >= 10 else 1):
            reasons.append(f"{host} is one or two letters away from {real}")
        elif real_name != "gov" and len(real_name) >= 3 and real_name in re.split(r"[-_.0-9]+", name):
            reasons.append(f"{host} contains the name '{real_name}' of {real} but is not theirs")
        elif len(real_name) >= 5 and _near(name, real_name, 1):
            reasons.append(f"{host} is one letter away from {real}")
        else:
            continue
        break
    return reasons
