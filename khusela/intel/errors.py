"""Errors the intel rules raise. Each is an `InvalidInput`, so the API answers 422 and the CLI
prints the plain-words reason; none carries the protected content it refused."""

from __future__ import annotations

from khusela.core.errors import InvalidInput


class IntelRuleBroken(InvalidInput):
    """A handling rule (28 CFR Part 23, POPIA, grading, review, release) refuses the action."""

    title = "Intelligence handling rule"


class BundleRejected(InvalidInput):
    """A STIX bundle is malformed, unmarked or carries something this platform cannot hold."""

    title = "STIX bundle rejected"


class EnvelopeRejected(InvalidInput):
    """A federation envelope failed its signature, addressing or structure checks."""

    title = "Federation envelope rejected"
