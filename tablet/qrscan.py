"""The tablet's side of QR scanning: zbar through the shared decoder, and the enrolment code.

Decoding lives in `branch_hub.client.qr_frames` (shared with the kiosk); here a missing zbar
becomes the setup screen's bilingual ScanUnavailable, and `enrolment_payload` picks the code.
"""

from __future__ import annotations

from collections.abc import Iterable

from branch_hub.client import qr_frames
from branch_hub.client.enrolment_code import SCHEMES, EnrolmentError
from branch_hub.client.qr_frames import FORMATS, Decoder
from tablet.i18n import N_, chinese

__all__ = ["FORMATS", "ScanUnavailable", "decode_frame", "enrolment_payload", "load_decoder"]


class ScanUnavailable(EnrolmentError):
    """zbar cannot be loaded on this device: the code has to be typed."""


def load_decoder() -> Decoder:
    """zbar's QR reader over 8-bit grey pixels (imported once, on first use)."""
    try:
        return qr_frames.load_decoder()
    except qr_frames.DecoderMissing as exc:
        raise ScanUnavailable(
            f"the QR reader (zbar) is not available: {exc}",
            chinese(N_("the QR reader (zbar) is not available")),
        ) from exc


def decode_frame(
    pixels: bytes, width: int, height: int, fmt: str, *, bottom_up: bool = False
) -> list[str]:
    """The texts of every QR code in the frame (none: []); `fmt` is one of FORMATS."""
    load_decoder()
    return qr_frames.decode_frame(pixels, width, height, fmt, bottom_up=bottom_up)


def enrolment_payload(texts: Iterable[str]) -> str | None:
    """The first text that is an enrolment code (`branchedge:…`), else None."""
    return next((t.strip() for t in texts if t.strip().startswith(SCHEMES)), None)
