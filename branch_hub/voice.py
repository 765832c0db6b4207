"""Voice announcements for calls: Mandarin then English, synthesised by espeak-ng, cached per phrase."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Announcement", "VoiceCache", "VoiceError", "announcement", "number_zh"]

_DIGITS_ZH = "零一二三四五六七八九"
_ESPEAK_ZH = ("-v", "cmn-latn-pinyin", "-s", "140")  # 'cmn' reads tone digits in English
_ESPEAK_EN = ("-v", "en", "-s", "150")
VOICE_ID = re.compile(r"^[0-9a-f]{32}$")


class VoiceError(RuntimeError):
    """Speech synthesis failed or is unavailable."""


def number_zh(n: int) -> str:
    """Read a counter number (1-999) the way Chinese speakers say it: 3 -> 三, 12 -> 十二."""
    if not 0 < n < 1000:
        raise ValueError("counter numbers are 1-999")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _DIGITS_ZH[hundreds] + "百"
        if rest and tens == 0:
            out += "零"
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS_ZH[tens]) + "十"
    if ones:
        out += _DIGITS_ZH[ones]
    return out


class Announcement:
    """The words of one call, in Mandarin and English."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en

    @property
    def voice_id(self) -> str:
        """A stable id of the phrase, also its cache file name."""
        return hashlib.sha256(f"{self.zh}\n{self.en}".encode()).hexdigest()[:32]


def announcement(ticket: str, counter_number: int, counter_en: str | None = None) -> Announcement:
    """Compose '请 A 零 一 二 号 到 三 号 窗口' and its English line; ticket digits one by one."""
    if not re.fullmatch(r"[A-Z][0-9]{3,4}", ticket):
        raise ValueError(f"not a ticket number: {ticket!r}")
    letter, digits = ticket[0], ticket[1:]
    zh = f"请 {letter} {' '.join(_DIGITS_ZH[int(d)] for d in digits)} 号 到 {number_zh(counter_number)} 号 窗口"
    en_digits = " ".join(digits)
    where = counter_en or f"counter {counter_number}"
    en = f"Number {letter} {en_digits}, please go to {where}."
    return Announcement(zh, en)


class VoiceCache:
    """WAV files per phrase in a folder; each is synthesised once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def available() -> bool:
        """Tell whether espeak-ng and sox are installed."""
        return bool(shutil.which("espeak-ng") and shutil.which("sox"))

    def path_for(self, voice_id: str) -> Path:
        """Return the cache path of a voice id (validated: no path tricks)."""
        if not VOICE_ID.fullmatch(voice_id):
            raise ValueError("bad voice id")
        return self.folder / f"{voice_id}.wav"

    def render(self, words: Announcement) -> Path:
        """Return the WAV of an announcement, synthesising it if it is not cached."""
        target = self.path_for(words.voice_id)
        if target.exists():
            return target
        if not self.available():
            raise VoiceError("espeak-ng and sox are needed for voice announcements")
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            zh, en, both = Path(tmp, "zh.wav"), Path(tmp, "en.wav"), Path(tmp, "both.wav")
            try:
                subprocess.run(
                    ["espeak-ng", *_ESPEAK_ZH, "-w", str(zh), words.zh],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
                subprocess.run(
                    ["espeak-ng", *_ESPEAK_EN, "-w", str(en), words.en],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
                # Same rate and channels for both halves, with a short pause between them.
                subprocess.run(
                    [
                        "sox",
                        str(zh),
                        str(en),
                        "-r",
                        "22050",
                        "-c",
                        "1",
                        str(both),
                        "pad",
                        "0",
                        "0.3",
                    ],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
                raise VoiceError(f"speech synthesis failed: {exc}") from exc
            os.replace(both, target)  # atomic: a reader never sees half a file
        return target
