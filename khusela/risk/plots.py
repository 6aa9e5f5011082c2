"""PNG figures for reports: PAI curves per method and a map of the top-ranked cells.

Rendered with matplotlib's Agg back-end so they work on a server without a display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from khusela.risk.evaluate import Backtest


def pai_curves(result: Backtest, path: Path, title: str = "Pooled PAI by share of area") -> Path:
    """One line per method: PAI (y) against the share of study cells chosen (x)."""
    return pai_panels({title: result}, path)


def pai_panels(results: dict[str, Backtest], path: Path) -> Path:
    """Side-by-side PAI curves, one panel per titled backtest."""
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.5), dpi=110, squeeze=False)
    for ax, (title, result) in zip(axes[0], results.items(), strict=True):
        _curves(ax, result, title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _curves(ax: Any, result: Backtest, title: str) -> None:
    for method in result.tallies:
        share, pai = result.curve(method)
        ax.plot(share * 100, pai, label=method, linewidth=1.8)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("share of study area chosen (%)")
    ax.set_ylabel("PAI (hit rate / area share)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)


def hotspot_map(
    xy: NDArray[np.float64], scores: NDArray[np.float64], path: Path, title: str, top_share: float = 0.05
) -> Path:
    """Cell centres on the local plane, coloured by score, with the top `top_share` ringed."""
    fig, ax = plt.subplots(figsize=(6.5, 6), dpi=110)
    order = np.argsort(scores)
    ax.scatter(xy[order, 0], xy[order, 1], c=scores[order], s=4, cmap="inferno_r")
    top = order[-max(1, round(top_share * len(scores))) :]
    ax.scatter(xy[top, 0], xy[top, 1], s=14, facecolors="none", edgecolors="tab:blue", linewidths=0.6)
    ax.set_aspect("equal")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
