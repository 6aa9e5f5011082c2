"""Turn raw RFC 822 bytes into the few facts the checks need. Real reported mail is often malformed,
so parsing never raises: a header or part that cannot be decoded is read as best it can be."""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email import policy
from email.header import Header, decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr


@dataclass(frozen=True)
class Address:
    """A mailbox as the reader sees it (display name) and as it really is (address, domain)."""

    display: str
    address: str
    domain: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    """The parts of a message the checks read; no `email` objects leak past this module."""

    subject: str
    sender: Address | None
    reply_to: Address | None
    return_path: Address | None
    received: list[str] = field(default_factory=list)
    auth_results: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)


def _chunk(data: bytes | str, charset: str | None) -> str:
    if isinstance(data, str):
        return data
    for candidate in (charset if charset and charset != "unknown-8bit" else "utf-8", "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeError):
            continue
    return data.decode("latin-1")


def header_text(value: object) -> str:
    """Decode RFC 2047 words (`=?utf-8?b?…?=`) and raw 8-bit headers (spam often sends bare UTF-8,
    which the parser can only hand over as bytes of unknown charset); fall back to the raw text."""
    if isinstance(value, Header):
        try:
            return "".join(_chunk(data, charset) for data, charset in decode_header(value))
        except (LookupError, ValueError, UnicodeError):
            return str(value)
    raw = str(value or "")
    try:
        return str(make_header(decode_header(raw)))
    except (LookupError, ValueError, UnicodeError):
        return raw


def address(value: object) -> Address | None:
    text = header_text(value)
    if not text.strip():
        return None
    pairs = getaddresses([text]) or [parseaddr(text)]
    display, addr = pairs[0]
    addr = addr.strip().strip("<>").lower()
    domain = addr.rpartition("@")[2].strip(".") if "@" in addr else ""
    return Address(display=display.strip(), address=addr, domain=domain)


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("latin-1", errors="replace")


def parse_mail(raw: bytes) -> Mail:
    """Parse a message (an mbox `From ` first line is tolerated, as in the SpamAssassin corpus)."""
    if raw.startswith(b"From "):
        raw = raw.partition(b"\n")[2]
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = header_text(part.get_filename() or "")
        disposition = str(part.get("Content-Disposition", "")).lower()
        if filename or disposition.startswith("attachment"):
            data = part.get_payload(decode=True)
            attachments.append(Attachment(filename, ctype, data if isinstance(data, bytes) else b""))
        elif ctype == "text/html":
            htmls.append(_decode(part))
        elif ctype.startswith("text/"):
            texts.append(_decode(part))
    return Mail(
        subject=header_text(msg.get("Subject", "")),
        sender=address(msg.get("From", "")),
        reply_to=address(msg.get("Reply-To", "")),
        return_path=address(msg.get("Return-Path", "")),
        received=[str(v) for v in msg.get_all("Received", [])],
        auth_results=[str(v) for v in msg.get_all("Authentication-Results", [])]
        + [f"spf={str(v).split()[0].lower()}" for v in msg.get_all("Received-SPF", []) if str(v).split()],
        text="\n".join(texts),
        html="\n".join(htmls),
        attachments=attachments,
    )
