"""Fuzz targets for the serial-device parsers: name -> (callable on arbitrary bytes, seed corpus).

Each callable either returns or raises a `drivers.errors.DeviceError` subclass; any other
exception is a bug. Seeds are canned captures from public documentation (labels as in
docs/protocols.md#sources: S1..S11 for SAM_V, P1..P5 for ESC/POS).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from drivers.errors import ProtocolError
from drivers.idcard.codec import FrameReceiver, build_response, parse_response
from drivers.idcard.text import decode_text_block, encode_text_block
from drivers.printer.status import decode_status
from drivers.printer.ticket import TicketLayout, ticket_bytes
from drivers.sim.printer import interpret_escpos

__all__ = ["TARGETS", "seed_read_response"]


def seed_read_response(fingerprint_len: int | None = None) -> bytes:
    """A synthetic 30 01 (or 30 10) answer laid out as in S1 (header lengths, text, WLT photo)."""
    text = encode_text_block(
        {
            "name": "张三",
            "gender": "M",
            "nation": "01",
            "birth": "1990-01-01",
            "address": "北京市朝阳区建国路1号",
            "id_number": "11010519900101001X",
            "authority": "北京市公安局朝阳分局",
            "valid_from": "2015-01-01",
            "valid_to": "long-term",
        }
    )
    photo = bytes.fromhex("574c66007e00320000ff85").ljust(1024, b"\x00")
    if fingerprint_len is None:
        return build_response(0x90, b"\x01\x00\x04\x00" + text + photo)
    head = b"\x01\x00\x04\x00" + fingerprint_len.to_bytes(2, "big")
    return build_response(0x90, head + text + photo + bytes(fingerprint_len))


def _samv_frame(data: bytes) -> object:
    from drivers.cli_serial import decode_samv

    return decode_samv(data)


def _samv_receiver(data: bytes) -> object:
    rx = FrameReceiver()
    frames = rx.feed(data[: len(data) // 2]) + rx.feed(data[len(data) // 2 :])
    return [parse_response(f) for f in frames if len(f) > 10]


def _text_block(data: bytes) -> object:
    # Pad/cut to 256 bytes so the fuzzer explores field contents, not just the length check.
    return decode_text_block(data[:256].ljust(256, b" "))


def _printer_status(data: bytes) -> object:
    if not data:
        raise ProtocolError("empty input")
    return decode_status(1 + data[0] % 4, data[1:])


def _escpos_stream(data: bytes) -> object:
    return interpret_escpos(data)


_CANNED = [
    bytes.fromhex("aaaaaa96690003 10ff ec".replace(" ", "")),  # S2/S4 reset SAM
    bytes.fromhex("aaaaaa9669000320 0122".replace(" ", "")),  # S4 find card
    bytes.fromhex("aaaaaa966900040000808 4".replace(" ", "")),  # S4 find fail
    bytes.fromhex("aaaaaa96690004000081 85".replace(" ", "")),  # S4 select fail
    bytes.fromhex("aaaaaa96690004000041 45".replace(" ", "")),  # S10 read fail
    bytes.fromhex("aaaaaa96690004000090 94".replace(" ", "")),  # S4 status OK
]
_TICKET = ticket_bytes(
    TicketLayout(
        "示例银行朝阳支行", "A012", "个人业务", 3, 5, 12, datetime(2024, 5, 6, 9, 30), "T-1"
    )
)
# P1 test vector for qr("1234", native=True).
_P1_QR = bytes.fromhex(
    "1d286b040031413200"
    "1d286b0300314303"
    "1d286b0300314530"
    "1d286b0700315030 31323334"
    "1d286b0300315130".replace(" ", "")
)

TARGETS: dict[str, tuple[Callable[[bytes], object], list[bytes]]] = {
    "samv_frame": (_samv_frame, [*_CANNED, seed_read_response(), seed_read_response(512)]),
    "samv_receiver": (
        _samv_receiver,
        [b"\x01\x02" + f + b"\xaa\xaa" for f in _CANNED] + [seed_read_response()],
    ),
    "samv_text_block": (_text_block, [seed_read_response()[14:270]]),
    "printer_status": (
        _printer_status,
        [b"\x00\x12", b"\x00\x1a", b"\x01\x32", b"\x03\x7e", b"\x03\x1e"],
    ),
    "escpos_stream": (
        _escpos_stream,
        [_TICKET, _P1_QR, b"\x1b\x40\x1c\x26" + "中文".encode("gb18030") + b"\n\x1dV\x00"],
    ),
}
