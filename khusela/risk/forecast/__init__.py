"""Forecasters: each scores every study cell for the next window from earlier data only."""

from __future__ import annotations

from khusela.core.errors import InvalidInput
from khusela.risk.forecast.base import Forecaster, History, Study
from khusela.risk.forecast.ensemble import RankEnsemble
from khusela.risk.forecast.kde import KernelDensity
from khusela.risk.forecast.naive import NaiveCount
from khusela.risk.forecast.prospective import Prospective
from khusela.risk.forecast.sepp import SelfExciting

METHODS = ("naive", "kde", "prospective", "sepp", "ensemble")

__all__ = ["METHODS", "Forecaster", "History", "Study", "make", "make_many"]


def make(name: str) -> Forecaster:
    """A forecaster with its default (tuned) settings."""
    if name == "naive":
        return NaiveCount()
    if name == "kde":
        return KernelDensity()
    if name == "prospective":
        return Prospective()
    if name == "sepp":
        return SelfExciting()
    if name == "ensemble":
        return RankEnsemble([KernelDensity(), Prospective(), SelfExciting()])
    raise InvalidInput(f"unknown method {name!r}; use one of {', '.join(METHODS)} or all")


def make_many(spec: str) -> list[Forecaster]:
    """`all` or a comma-separated list of method names."""
    names = METHODS if spec == "all" else tuple(n.strip() for n in spec.split(",") if n.strip())
    return [make(n) for n in names]
