"""Draw the resident panic page's icons into ``khusela/web/static/panic/``.

A red disc with a white exclamation mark on the page's near-black background, as PNG
(192 and 512 pixels, full-bleed so they also serve as maskable icons: the disc stays
inside the 80 % safe zone) and as SVG. Standard library only: the PNG is written by hand
(zlib + struct), each pixel anti-aliased by 4x4 supersampling.

Run from the repository root once after changing the drawing; the output is committed::

    .venv/bin/python scripts/make_panic_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "khusela" / "web" / "static" / "panic"
BACKGROUND = (11, 13, 16)
RED = (208, 0, 0)
WHITE = (255, 255, 255)
SAMPLES = 4

# The drawing on a unit square (0..1 on both axes).
DISC_R = 0.38
BAR = (0.445, 0.555, 0.26, 0.60)  # x0, x1, y0, y1 of the exclamation bar (rounded ends)
DOT = (0.5, 0.70, 0.058)  # centre x, centre y, radius


def _colour(x: float, y: float) -> tuple[int, int, int]:
    if (x - 0.5) ** 2 + (y - 0.5) ** 2 > DISC_R**2:
        return BACKGROUND
    x0, x1, y0, y1 = BAR
    half = (x1 - x0) / 2
    cx = (x0 + x1) / 2
    in_bar = x0 <= x <= x1 and y0 + half <= y <= y1 - half
    in_caps = (x - cx) ** 2 + (y - (y0 + half)) ** 2 <= half**2 or (x - cx) ** 2 + (
        y - (y1 - half)
    ) ** 2 <= half**2
    dx, dy, dr = DOT
    if in_bar or in_caps or (x - dx) ** 2 + (y - dy) ** 2 <= dr**2:
        return WHITE
    return RED


def _pixels(size: int) -> bytes:
    rows = bytearray()
    step = 1 / (size * SAMPLES)
    for py in range(size):
        rows.append(0)  # PNG filter type: none
        for px in range(size):
            r = g = b = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    c = _colour((px * SAMPLES + sx + 0.5) * step, (py * SAMPLES + sy + 0.5) * step)
                    r, g, b = r + c[0], g + c[1], b + c[2]
            n = SAMPLES * SAMPLES
            rows += bytes((round(r / n), round(g / n), round(b / n)))
    return bytes(rows)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int) -> bytes:
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(_pixels(size), 9))
        + _chunk(b"IEND", b"")
    )


def svg() -> str:
    x0, x1, y0, y1 = (v * 100 for v in BAR)
    dx, dy, dr = (v * 100 for v in DOT)
    bg = "#{:02x}{:02x}{:02x}".format(*BACKGROUND)
    red = "#{:02x}{:02x}{:02x}".format(*RED)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" fill="{bg}"/>'
        f'<circle cx="50" cy="50" r="{DISC_R * 100:g}" fill="{red}"/>'
        f'<rect x="{x0:g}" y="{y0:g}" width="{x1 - x0:g}" height="{y1 - y0:g}" '
        f'rx="{(x1 - x0) / 2:g}" fill="#fff"/>'
        f'<circle cx="{dx:g}" cy="{dy:g}" r="{dr:g}" fill="#fff"/>'
        "</svg>\n"
    )


def main() -> None:
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(png(size))
    (OUT / "icon.svg").write_text(svg())
    print(f"wrote icons to {OUT}")


if __name__ == "__main__":
    main()
