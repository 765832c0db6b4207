"""The decoder both apps share: an appointment code and a ticket link drawn by `qrcode` read back
from pixels in every frame layout a camera gives, upside down (a GL texture) too."""

from __future__ import annotations

import io
import secrets

import pytest
import qrcode
from PIL import Image

from branch_hub.client import qr_frames
from branch_hub.client.qr_frames import decode_frame, decoder_available
from sync.export_appointments import appointment_code, code_token

TOKEN = secrets.token_urlsafe(16)
TEXTS = (appointment_code(TOKEN), "http://guest.branch.test:8080/t/" + secrets.token_urlsafe(32))


def _image(text: str) -> Image.Image:
    out = io.BytesIO()
    qrcode.make(text).save(out)
    return Image.open(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(("mode", "fmt"), [("RGBA", "rgba"), ("RGB", "rgb"), ("L", "luminance")])
def test_a_rendered_code_decodes_in_every_layout(text: str, mode: str, fmt: str) -> None:
    image = _image(text).convert(mode)
    assert decode_frame(image.tobytes(), image.width, image.height, fmt) == [text]
    flipped = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    found = decode_frame(flipped.tobytes(), image.width, image.height, fmt, bottom_up=True)
    assert found == [text]


def test_the_appointment_text_gives_back_its_token() -> None:
    image = _image(TEXTS[0]).convert("L")
    (text,) = decode_frame(image.tobytes(), image.width, image.height, "luminance")
    assert code_token(text) == TOKEN
    assert decoder_available()


def test_without_zbar_the_decoder_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyzbar(name: str, *args: object, **kw: object) -> object:
        if name.startswith("pyzbar"):
            raise ImportError("no pyzbar here")
        return real_import(name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(qr_frames, "_DECODER", [])
    monkeypatch.setattr(builtins, "__import__", no_pyzbar)
    assert not decoder_available()
    with pytest.raises(qr_frames.DecoderMissing):
        decode_frame(b"\xff" * 16, 4, 4, "luminance")
