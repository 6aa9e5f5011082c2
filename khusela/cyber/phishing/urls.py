"""Links and forms in a message's text and HTML. Phishing lives in the gap between what a link
shows and where it goes, so anchors are kept with their visible text."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, unquote, urlsplit

URL_RE = re.compile(r"""\bhttps?://[^\s"'<>()\[\]{}]+""", re.IGNORECASE)
DOMAIN_RE = re.compile(r"(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:]|$)", re.IGNORECASE)
SHORTENERS = frozenset(
    [
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "rb.gy",
        "tiny.cc",
        "t.ly",
        "s.id",
        "bit.do",
        "v.gd",
        "qrco.de",
        "l.ead.me",
        "short.io",
    ]
)


@dataclass(frozen=True)
class Link:
    href: str
    text: str = ""


@dataclass
class Form:
    action: str = ""
    password: bool = False


@dataclass
class _Collector(HTMLParser):
    links: list[Link] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    password_inputs: int = 0
    _href: str | None = None
    _text: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "a" and values.get("href"):
            self._href, self._text = values["href"].strip(), []
        elif tag == "form":
            self.forms.append(Form(action=values.get("action", "").strip()))
        elif tag == "input" and values.get("type", "").lower() == "password":
            self.password_inputs += 1
            if self.forms:
                self.forms[-1].password = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append(Link(self._href, " ".join("".join(self._text).split())))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)


def html_parts(html: str) -> tuple[list[Link], list[Form], int]:
    """Anchors (with visible text), forms, and password inputs found anywhere in the HTML."""
    collector = _Collector()
    try:
        collector.feed(html)
        collector.close()
    except (AssertionError, ValueError):  # broken markup: keep what was read so far
        pass
    return collector.links, collector.forms, collector.password_inputs


def text_links(text: str) -> list[Link]:
    return [Link(m.group(0).rstrip(".,;:!?")) for m in URL_RE.finditer(text)]


def host_of(url: str) -> str:
    """The link's host name, or "?" when the address is built from disguised Unicode (NFKC tricks)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return "?" if not url.isascii() else ""
    return host.lower().strip(".")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def shown_domain(text: str) -> str | None:
    """The domain a link's visible text claims (`www.gauteng.gov.za`, `https://sars.gov.za/…`)."""
    match = DOMAIN_RE.search(text.strip())
    return match.group(1).lower() if match and " " not in text.strip() else None


def redirect_targets(url: str) -> int:
    """How many URLs are smuggled in the query string (open redirects, tracker chains)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return 0
    decoded = unquote(unquote(query)).lower()
    return (
        decoded.count("http://")
        + decoded.count("https://")
        + sum(1 for _, v in parse_qsl(query) if v.lower().startswith("www."))
    )
