"""Read QR codes out of a camera frame with zbar (through pyzbar): shared by the tablet and kiosk.

pyzbar is imported on first use, so an app starts on a device without zbar (and hides or
explains its Scan button). A frame is reduced to 8-bit grey by taking its green channel: a byte
slice done in C, which is close enough to luminance for a black-on-white code and costs no numpy.
Frames come from a `FrameSource`: Kivy's camera texture on a device (`camera_frames`), any
callable in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

__all__ = [
    "FORMATS",
    "Decoder",
    "DecoderMissing",
    "Frame",
    "FrameSource",
    "camera_frames",
    "decode_frame",
    "decoder_available",
    "load_decoder",
]

# Bytes per pixel, and where the green (or only) channel sits in a pixel.
FORMATS: dict[str, tuple[int, int]] = {
    "luminance": (1, 0),
    "rgb": (3, 1),
    "bgr": (3, 1),
    "rgba": (4, 1),
    "bgra": (4, 1),
}

Decoder = Callable[[bytes, int, int], list[str]]
_DECODER: list[Decoder] = []


class DecoderMissing(Exception):
    """zbar (or pyzbar) cannot be loaded on this device."""


class Frame(NamedTuple):
    """One picture: its pixels and how to read them (see FORMATS)."""

    pixels: bytes
    width: int
    height: int
    fmt: str = "rgba"
    bottom_up: bool = False


FrameSource = Callable[[], Frame | None]


def load_decoder() -> Decoder:
    """zbar's QR reader over 8-bit grey pixels (imported once, on first use)."""
    if not _DECODER:
        try:
            from pyzbar import pyzbar
        except (ImportError, OSError) as exc:  # OSError: pyzbar found, libzbar not
            raise DecoderMissing(str(exc)) from exc
        symbols = [pyzbar.ZBarSymbol.QRCODE]

        def decode(grey: bytes, width: int, height: int) -> list[str]:
            found: Iterable[Any] = pyzbar.decode((grey, width, height), symbols=symbols)
            return [bytes(r.data).decode("utf-8", "replace") for r in found]

        _DECODER.append(decode)
    return _DECODER[0]


def decoder_available() -> bool:
    """Whether zbar loads here (an app shows its Scan buttons only then)."""
    try:
        load_decoder()
    except DecoderMissing:
        return False
    return True


def _grey(pixels: bytes, width: int, height: int, fmt: str, bottom_up: bool) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown pixel format {fmt!r} (one of {', '.join(FORMATS)})")
    size, green = FORMATS[fmt]
    if width <= 0 or height <= 0 or len(pixels) != width * height * size:
        raise ValueError(f"{len(pixels)} bytes is not a {width}x{height} {fmt} frame")
    grey = bytes(pixels[green::size]) if size > 1 else bytes(pixels)
    if bottom_up:  # a GL texture's first row is the picture's bottom one
        grey = b"".join(grey[row * width : (row + 1) * width] for row in range(height - 1, -1, -1))
    return grey


def decode_frame(
    pixels: bytes, width: int, height: int, fmt: str, *, bottom_up: bool = False
) -> list[str]:
    """The texts of every QR code in the frame (none: []); `fmt` is one of FORMATS."""
    grey = _grey(pixels, width, height, fmt, bottom_up)
    return load_decoder()(grey, width, height)


def camera_frames(camera: Any) -> FrameSource:
    """Read a Kivy camera's current texture (RGBA, bottom row first); None until the first frame."""

    def read() -> Frame | None:
        texture = camera.texture
        if texture is None:
            return None
        width, height = texture.size
        return Frame(bytes(texture.pixels), width, height, "rgba", True)

    return read
