"""Areas people follow and alerts cover, as H3 cells at the platform's jurisdiction resolution.

Everything is normalised to resolution 7 (`core.geo.JURISDICTION_RESOLUTION`, ~5 km²): a finer
cell is replaced by its parent (a resident's street becomes their neighbourhood — which is
also all we want to keep about where they live), a coarser one by its children.
"""

from __future__ import annotations

from collections.abc import Iterable

import h3

from khusela.core.errors import InvalidInput
from khusela.core.geo import JURISDICTION_RESOLUTION, is_valid_cell

MAX_CELLS = 2000


def normalise(cells: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for cell in cells:
        if not is_valid_cell(cell):
            raise InvalidInput(f"{cell!r} is not an H3 cell")
        resolution = h3.get_resolution(cell)
        if resolution > JURISDICTION_RESOLUTION:
            out.add(h3.cell_to_parent(cell, JURISDICTION_RESOLUTION))
        elif resolution < JURISDICTION_RESOLUTION:
            if JURISDICTION_RESOLUTION - resolution > 3:
                raise InvalidInput(f"{cell!r} is too coarse (resolution {resolution}); use 4 or finer")
            out.update(h3.cell_to_children(cell, JURISDICTION_RESOLUTION))
        else:
            out.add(cell)
        if len(out) > MAX_CELLS:
            raise InvalidInput(f"an area covers at most {MAX_CELLS} cells")
    return out
