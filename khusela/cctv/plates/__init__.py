"""Licence-plate recognition: find plates in a frame, read them, match them to a watchlist.

    reads = find_and_read(frame)                   # list[PlateRead], boxes in frame pixels
    hit = watchlist.match(reads[0].text)           # WatchlistHit | None, OCR-tolerant

CPU only; the OCR models ship inside the rapidocr wheel and nothing is downloaded.
"""

from khusela.cctv.plates.locate import find_and_read
from khusela.cctv.plates.normalise import Plate, normalise
from khusela.cctv.plates.reader import PlateRead, PlateReader
from khusela.cctv.plates.watchlist import Watchlist, WatchlistEntry, WatchlistHit

__all__ = [
    "Plate",
    "PlateRead",
    "PlateReader",
    "Watchlist",
    "WatchlistEntry",
    "WatchlistHit",
    "find_and_read",
    "normalise",
]
