"""Phishing analyser: score a reported e-mail (raw .eml bytes) and explain the score in sentences an
analyst can check against the message. Offline by design: no look-ups, no downloads."""

from khusela.cyber.phishing.domains import DEFAULT, ProtectedDomains
from khusela.cyber.phishing.score import Verdict, analyse

__all__ = ["DEFAULT", "ProtectedDomains", "Verdict", "analyse"]
