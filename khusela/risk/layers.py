"""Map layers from stored incidents: Gi* hotspots and the current forecast, as GeoJSON.

Both use the tested analytics unchanged (`hotspots.getis_ord`, the forecasters and the
backtest's `Prepared`). Fitting SEPP on a city's year takes seconds, and the console asks
on every pan of the risk panel, so results are cached by the *content* of the incidents
the caller may see (a digest of the arrays) and the parameters: two callers who see the
same incidents share an entry, a new incident changes the digest, and a cache entry can
never hand one caller a layer built from incidents only another may see."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from khusela.core.errors import InvalidInput
from khusela.risk import grid
from khusela.risk.evaluate import Prepared
from khusela.risk.forecast import METHODS, make
from khusela.risk.hotspots import getis_ord
from khusela.risk.incidents import Incidents

DAY = 86_400
CACHE_SIZE = 32


class LayerCache:
    """A small thread-safe LRU of GeoJSON documents."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get_or_build(self, key: tuple[Any, ...], build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        document = build()
        with self._lock:
            self._items[key] = document
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return document


CACHE = LayerCache()


def digest(data: Incidents) -> str:
    h = hashlib.sha256()
    for arr in (data.times, data.lat, data.lon, data.codes):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\x1f".join(data.categories).encode())
    return h.hexdigest()


def _check_res(res: int) -> None:
    if not 6 <= res <= 10:
        raise InvalidInput("res: H3 resolution 6 to 10")


def hotspots(data: Incidents, res: int = 9, ring: int = 1, alpha: float = 0.05) -> dict[str, Any]:
    """Cells with incidents and their neighbours: count, Gi* z and q, and `hot` when the
    Benjamini-Hochberg corrected Gi* says the cluster is unlikely by chance."""
    _check_res(res)
    if not (1 <= ring <= 3 and 0 < alpha < 0.5):
        raise InvalidInput("ring: 1 to 3; alpha: above 0 and below 0.5")

    def build() -> dict[str, Any]:
        if len(data) == 0:
            return _empty({"layer": "hotspots", "res": res})
        gi = getis_ord(grid.cells_of(data.lat, data.lon, res), ring, alpha)
        keep = gi.counts > 0
        doc = grid.feature_collection(
            gi.cells[keep],
            {"count": gi.counts[keep], "z": np.round(gi.z[keep], 3), "q": gi.q[keep], "hot": gi.hot[keep]},
            res,
        )
        doc["properties"] = {
            "layer": "hotspots",
            "res": res,
            "ring": ring,
            "alpha": alpha,
            "incidents": len(data),
        }
        return doc

    return CACHE.get_or_build(("hotspots", digest(data), res, ring, alpha), build)


def forecast(
    data: Incidents,
    method: str = "kde",
    res: int = 9,
    train_days: float = 365,
    horizon_days: float = 7,
    top: int = 200,
) -> dict[str, Any]:
    """The `top` cells most at risk in the `horizon_days` after the last incident, ranked,
    fitted on the `train_days` before it (as `khusela risk forecast`)."""
    _check_res(res)
    if method not in METHODS:
        raise InvalidInput(f"method: one of {', '.join(METHODS)}")
    if not (7 <= train_days <= 3650 and 1 <= horizon_days <= 90 and 1 <= top <= 5000):
        raise InvalidInput("train_days 7-3650, horizon_days 1-90, top 1-5000")

    def build() -> dict[str, Any]:
        properties = {"layer": "forecast", "method": method, "res": res, "horizon_days": horizon_days}
        if len(data) == 0:
            return _empty(properties)
        prepared = Prepared.of(data, res)
        start = int(prepared.times[-1]) + 1
        study = prepared.study(start)
        history = prepared.history(study, start - int(train_days * DAY), start)
        scores = make(method).predict(history, study, start, int(horizon_days * DAY))
        order = np.lexsort((study.cells, -scores))[:top]
        doc = grid.feature_collection(
            study.cells[order],
            {"score": np.round(scores[order], 6), "rank": np.arange(1, len(order) + 1)},
            res,
        )
        doc["properties"] = {**properties, "from": str(np.datetime64(start, "s")), "incidents": len(data)}
        return doc

    return CACHE.get_or_build(("forecast", digest(data), method, res, train_days, horizon_days, top), build)


def _empty(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [], "properties": {**properties, "incidents": 0}}
