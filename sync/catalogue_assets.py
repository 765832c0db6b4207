"""The catalogue's files: product images (PNG/JPEG) and PDF leaflets, made and checked.

A branch device refuses an image Pillow cannot verify or whose pixel count is over the bound
(a decompression bomb), and a leaflet that does not start with `%PDF-`, lacks `%%EOF` or is over
the size limit. The synthetic generator makes small real files of both kinds.
"""

from __future__ import annotations

import io
import random
import warnings

from sync.errors import CatalogueError

__all__ = [
    "IMAGE_MAX_BYTES",
    "IMAGE_MAX_PIXELS",
    "PDF_MAX_BYTES",
    "check_asset",
    "make_leaflet",
    "make_picture",
]

IMAGE_MAX_BYTES = 2 << 20
IMAGE_MAX_PIXELS = 4096 * 4096
PDF_MAX_BYTES = 5 << 20


def check_asset(name: str, data: bytes) -> None:
    """Refuse a file that is not what its name says, or is over its bounds."""
    if name.endswith(".pdf"):
        _check_pdf(name, data)
    elif name.endswith((".png", ".jpg")):
        _check_image(name, data)
    else:
        raise CatalogueError(f"file {name!r}: only .png, .jpg and .pdf files are allowed")


def _check_pdf(name: str, data: bytes) -> None:
    if len(data) > PDF_MAX_BYTES:
        raise CatalogueError(
            f"leaflet {name!r} is {len(data)} bytes, over the {PDF_MAX_BYTES} byte limit"
        )
    if not data.startswith(b"%PDF-"):
        raise CatalogueError(f"leaflet {name!r} is not a PDF (it does not start with %PDF-)")
    if b"%%EOF" not in data[-1024:]:
        raise CatalogueError(f"leaflet {name!r} is a truncated PDF (no %%EOF at its end)")


def _check_image(name: str, data: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    if len(data) > IMAGE_MAX_BYTES:
        raise CatalogueError(
            f"image {name!r} is {len(data)} bytes, over the {IMAGE_MAX_BYTES} byte limit"
        )
    want = "PNG" if name.endswith(".png") else "JPEG"
    width = height = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[want]) as im:
                width, height = im.size
                if width * height <= IMAGE_MAX_PIXELS:
                    im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise CatalogueError(
            f"image {name!r} is not a valid {want} image ({type(exc).__name__})"
        ) from exc
    if width * height > IMAGE_MAX_PIXELS:
        raise CatalogueError(
            f"image {name!r} is {width}x{height} pixels, over the {IMAGE_MAX_PIXELS} pixel limit"
        )


_COLOURS = {
    "deposit": (200, 40, 40),
    "wealth": (180, 130, 20),
    "fund": (30, 110, 180),
    "insurance": (40, 140, 90),
    "loan": (110, 60, 160),
    "card": (20, 20, 20),
    "forex": (0, 130, 140),
    "pension": (150, 90, 60),
}


def make_picture(seed: int, category: str, size: tuple[int, int] = (120, 80)) -> bytes:
    """A small real PNG: the category's colour with a few seeded shapes (deterministic)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)  # noqa: S311 - drawing, not secrets
    base = _COLOURS.get(category, (90, 90, 90))
    im = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(im)
    w, h = size
    for _ in range(4):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randrange(6, h // 2)
        shade = tuple(min(255, c + rng.randrange(30, 120)) for c in base)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=shade)
    draw.rectangle((0, h - 14, w, h), fill=(250, 250, 250))
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _pdf_text(text: str) -> str:
    safe = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_leaflet(title: str, lines: list[str]) -> bytes:
    """A small real one-page PDF (hand-written objects and a correct xref table)."""
    text = [f"BT /F1 16 Tf 50 780 Td ({_pdf_text(title)}) Tj ET"]
    for i, line in enumerate(lines[:30]):
        text.append(f"BT /F1 10 Tf 50 {750 - 16 * i} Td ({_pdf_text(line)}) Tj ET")
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)
