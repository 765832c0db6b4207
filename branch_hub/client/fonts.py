"""Find a font that has Chinese glyphs for the kiosk and the tablet (Kivy's Roboto draws boxes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["CANDIDATES", "FontMissing", "find_cjk_font"]

# Simplified-Chinese-first fonts from the Debian packages the run script installs.
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    # Android's own CJK fonts (an APK also bundles one: the app passes it as `explicit`).
    "/system/fonts/NotoSansCJK-Regular.ttc",
    "/system/fonts/DroidSansFallback.ttf",
)


class FontMissing(RuntimeError):
    """No usable CJK font: the app would show boxes instead of Chinese."""


def _fontconfig_guess() -> Path | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        out = subprocess.run(
            [fc_match, "-f", "%{file}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    # fc-match always answers something; only trust a file that is known to carry CJK glyphs.
    if out and any(
        tag in out.lower() for tag in ("cjk", "wqy", "uming", "ukai", "droidsansfallback")
    ):
        return Path(out)
    return None


def find_cjk_font(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return a CJK font file: `explicit`, $KIOSK_FONT, a known path, or fontconfig's choice."""
    chosen = explicit or os.environ.get("KIOSK_FONT")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise FontMissing(f"font file not found: {path}")
        return path
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    guess = _fontconfig_guess()
    if guess is not None and guess.is_file():
        return guess
    raise FontMissing(
        "no Chinese (CJK) font found: install fonts-wqy-microhei or fonts-noto-cjk "
        "(./run bootstrap does), or pass --font /path/to/font.ttc"
    )
