"""What the message says to the reader: account and password requests, pressure, and bait. The
HTML is reduced to the words a reader sees (no style sheets, scripts or tags) before matching."""

from __future__ import annotations

import html as htmllib
import re

from khusela.cyber.phishing.evidence import CREDENTIALS, LURES, Evidence
from khusela.cyber.phishing.parse import Mail

CREDENTIAL = (
    "verify your account", "verify your identity", "confirm your identity", "confirm your password",
    "update your password", "update your payment", "update your account", "update your billing",
    "account will be suspended", "account has been suspended", "account will be closed",
    "account has been locked", "account is locked", "account has been limited", "unusual activity",
    "unusual sign-in", "suspicious activity", "login to your account", "log in to your account",
    "sign in to your account", "validate your", "reactivate", "password will expire",
    "password expires", "mailbox is full", "storage is full", "mailbox quota", "payment failed",
    "payment was declined", "unable to process your payment", "confirm your details",
    "verify your email", "confirm your email", "your parcel", "your package", "delivery attempt",
    "pending delivery", "customs fee", "shipping fee", "voicemail", "shared a document",
    "shared a file", "sent you a document", "review the document", "documents are ready",
    "case file", "court proceeding",
)  # fmt: skip
URGENCY = (
    "urgent", "immediately", "within 24 hours", "within 48 hours", "act now", "final notice",
    "last chance", "expires today", "expiring", "expira", "ablauf", "sofort", "limited time",
    "last warning", "final reminder", "don't miss", "only today", "today only",
)  # fmt: skip
LURE = (
    "you have won", "congratulations", "winner", "claim your", "prize", "gift card", "reward",
    "refund", "inheritance", "beneficiary", "bitcoin", "crypto", "wallet", "parab", "gewinn",
    "gutschein", "pontos", "herzlichen glückwunsch", "free gift", "binance", "usdt", " nft",
    " eth ", "has won", "you won", "you've been selected", "you have been selected",
    "you have been chosen", "loyalty program", "deposit bonus", "investment platform",
    "no cost to you", "compensation fund", "unclaimed",
)  # fmt: skip
MONEY_RE = re.compile(
    r"[$€£]\s?\(?\d{1,3}(?:[.,]\d{3})+|[$€£]\s?\d{4,}|\d[\d.,]*\s?(?:usd|eur|btc|eth)\b", re.IGNORECASE
)
_INVISIBLE_RE = re.compile(r"(?is)<(style|script|head|title)\b[^>]*>.*?</\1\s*>|<!--.*?-->")
_TAG_RE = re.compile(r"<[^>]+>")


def visible_text(html: str) -> str:
    """The words a reader sees in `html`: style sheets, scripts and comments dropped, entities
    decoded, whitespace collapsed."""
    text = _TAG_RE.sub(" ", _INVISIBLE_RE.sub(" ", html))
    return " ".join(htmllib.unescape(text).split())


def reader_text(mail: Mail) -> str:
    """Subject and body as one lower-case string, the form every phrase check reads."""
    return " ".join((mail.subject + " " + mail.text + " " + visible_text(mail.html)).lower().split())


def language(mail: Mail, ev: Evidence, body: str) -> None:
    for phrases, weight, cap, label, family in (
        (CREDENTIAL, 15, 30, "asks the reader to act on their account or a document", CREDENTIALS),
        (URGENCY, 10, 15, "pressures the reader with urgency", LURES),
        (LURE, 10, 20, "dangles money or prizes", LURES),
    ):
        hits = [p for p in phrases if p in body]
        if phrases is LURE and (money := MONEY_RE.search(body)):
            hits.append(money.group(0))
        if hits:
            quoted = ", ".join(f"'{h.strip()}'" for h in hits[:3])
            ev.add(min(weight * len(hits), cap), f"The text {label}: {quoted}", family)
