"""Draw the tablet's launcher icon and start-up splash (run by hand; the PNGs are committed).

`python packaging/tablet/make_art.py` rewrites tablet/data/icon.png (512×512) and
tablet/data/presplash.png (1280×800) from shapes and the CJK font; no image is taken from
elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from branch_hub.client.fonts import find_cjk_font

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tablet" / "data"
NAVY, GOLD, WHITE = (18, 45, 92), (201, 162, 39), (255, 255, 255)


def _mark(draw: ImageDraw.ImageDraw, cx: int, cy: int, size: int) -> None:
    """A bank's front under a roof: the branch, in gold on navy."""
    half, roof = size // 2, size // 4
    draw.polygon(
        [(cx - half, cy - size // 8), (cx, cy - size // 8 - roof), (cx + half, cy - size // 8)],
        fill=GOLD,
    )
    for i in range(4):
        x = cx - half + size // 10 + i * (size - size // 5) // 3
        draw.rectangle([x - size // 20, cy - size // 10, x + size // 20, cy + size // 4], fill=GOLD)
    draw.rectangle([cx - half, cy + size // 4, cx + half, cy + size // 4 + size // 12], fill=GOLD)


def icon(font: Path) -> Image.Image:
    """The launcher icon: the mark over 网点 on navy."""
    img = Image.new("RGB", (512, 512), NAVY)
    draw = ImageDraw.Draw(img)
    _mark(draw, 256, 220, 300)
    text = ImageFont.truetype(str(font), 88)
    draw.text((256, 430), "网点", font=text, fill=WHITE, anchor="mm")
    return img


def presplash(font: Path) -> Image.Image:
    """The splash shown while the app starts: mark, name and what it is for."""
    img = Image.new("RGB", (1280, 800), NAVY)
    draw = ImageDraw.Draw(img)
    _mark(draw, 640, 300, 260)
    draw.text(
        (640, 540), "网点助手", font=ImageFont.truetype(str(font), 96), fill=WHITE, anchor="mm"
    )
    small = ImageFont.truetype(str(font), 36)
    draw.text((640, 640), "branch-edge · staff tablet", font=small, fill=GOLD, anchor="mm")
    return img


def main() -> None:
    """Write both pictures."""
    font = find_cjk_font()
    OUT.mkdir(parents=True, exist_ok=True)
    icon(font).save(OUT / "icon.png", optimize=True)
    presplash(font).save(OUT / "presplash.png", optimize=True)


if __name__ == "__main__":
    main()
