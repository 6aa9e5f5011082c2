"""Forecasters: each scores every study cell for the next window from earlier data only."""

from __future__ import annotations

from collections.abc import Callable

from khusela.core.errors import InvalidInput
from khusela.risk.forecast.base import Forecaster, History, Study
from khusela.risk.forecast.blend import Blend
from khusela.risk.forecast.ensemble import RankEnsemble, WeightedRankEnsemble
from khusela.risk.forecast.kde import KernelDensity
from khusela.risk.forecast.naive import NaiveCount
from khusela.risk.forecast.prospective import Prospective
from khusela.risk.forecast.ranked import RankedCount
from khusela.risk.forecast.sepp import SelfExciting

METHODS = ("naive", "naive_ranked", "kde", "prospective", "sepp", "blend", "ensemble", "weighted_ensemble")

__all__ = ["METHODS", "Forecaster", "History", "Study", "make", "make_many"]


def _ensemble() -> Forecaster:
    return RankEnsemble([KernelDensity(), Prospective(), SelfExciting()])


def _weighted_ensemble() -> Forecaster:
    return WeightedRankEnsemble([NaiveCount(), KernelDensity(bandwidth_m=200.0), Prospective()])


_FACTORIES: dict[str, Callable[[], Forecaster]] = {
    "naive": NaiveCount,
    "naive_ranked": RankedCount,
    "kde": KernelDensity,
    "prospective": Prospective,
    "sepp": SelfExciting,
    "blend": Blend,
    "ensemble": _ensemble,
    "weighted_ensemble": _weighted_ensemble,
}


def make(name: str) -> Forecaster:
    """A forecaster with its default (tuned) settings."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise InvalidInput(f"unknown method {name!r}; use one of {', '.join(METHODS)} or all")
    return factory()


def make_many(spec: str) -> list[Forecaster]:
    """`all` or a comma-separated list of method names."""
    names = METHODS if spec == "all" else tuple(n.strip() for n in spec.split(",") if n.strip())
    return [make(n) for n in names]
