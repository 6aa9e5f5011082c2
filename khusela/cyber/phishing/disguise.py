"""Tricks that hide a message's words from filters while a person still reads them: hidden text,
letters from other alphabets or 'styled' Unicode, letters spaced apart, invisible characters,
script that decodes a page at run time. Legitimate senders have no reason for any of them."""

from __future__ import annotations

import re

from khusela.cyber.phishing.evidence import OBFUSCATION, Evidence
from khusela.cyber.phishing.parse import Mail

HIDDEN_RE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px)?\s*[;\"']|margin-top\s*:\s*\d{4,}px",
    re.IGNORECASE,
)  # fmt: skip
_LATIN = "a-zA-Z"
_LOOKALIKE_SCRIPTS = "\u0370-\u03ff\u0400-\u04ff"  # Greek and Cyrillic letters that pass for Latin
MIXED_WORD_RE = re.compile(
    rf"\b(?=\w*[{_LATIN}])(?=\w*[{_LOOKALIKE_SCRIPTS}])\w{{3,}}\b"
)  # fmt: skip
STYLED_RE = re.compile("[\U0001d400-\U0001d7ff\uff21-\uff5a]")  # mathematical and full-width letters
SPACED_RE = re.compile(r"(?<!\S)(?:[A-Za-z\u0400-\u04ff] ){7,}[A-Za-z\u0400-\u04ff](?!\S)")
INVISIBLE_IN_WORD_RE = re.compile("[A-Za-z][\u200b\u200c\u200d\u2060\ufeff\u00ad]+[A-Za-z]")
SCRIPTED_RE = re.compile(r"\batob\s*\(|data:text/html|base64,[A-Za-z0-9+/]{40}", re.I)


def disguise_checks(mail: Mail, ev: Evidence, shown: str) -> None:
    """`shown` is the visible body text (HTML reduced to words)."""
    if HIDDEN_RE.search(mail.html):
        ev.add(
            10, "The HTML hides some of its text from the reader (hidden or pushed off-screen)", OBFUSCATION
        )
    recipient = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*", mail.subject)
    if recipient:
        ev.add(
            10, f"The subject quotes an e-mail address ({recipient.group(0)}) to look personal", OBFUSCATION
        )
    display = mail.sender.display if mail.sender else ""
    for where, text in (
        ("subject", mail.subject),
        ("sender's name", display),
        ("text", shown + " " + mail.text),
    ):
        if mixed := MIXED_WORD_RE.search(text):
            ev.add(
                25,
                f"The {where} mixes Cyrillic or Greek look-alike letters into Latin words"
                f" ('{mixed.group(0)[:30]}')",
                OBFUSCATION,
            )
            break
    for where, text in (("subject", mail.subject), ("sender's name", display)):
        if STYLED_RE.search(text):
            ev.add(
                15,
                f"The {where} is written in 'styled' Unicode letters that slip past word filters",
                OBFUSCATION,
            )
            break
    if spaced := SPACED_RE.search(shown or mail.text):
        ev.add(
            10, f"The text spaces its letters apart to dodge filters ('{spaced.group(0)[:30]}')", OBFUSCATION
        )
    if INVISIBLE_IN_WORD_RE.search(mail.subject + " " + shown + " " + mail.text):
        ev.add(15, "Invisible characters are slipped inside words to break them up for filters", OBFUSCATION)
    if SCRIPTED_RE.search(mail.html):
        ev.add(
            25,
            "The HTML builds its content with script at run time (encoded or written out by code)",
            OBFUSCATION,
        )
