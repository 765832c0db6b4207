"""A small streaming ESC/POS parser for the printer simulator (the subset queue tickets use).

Command lengths from docs/protocols.md#escpos-commands (P1 constants, P4 command tree). Unknown
ESC/GS/FS commands are skipped with one parameter byte; text runs stop at control bytes, which
is safe for GB18030 because its trailing bytes are never below 0x30.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EscPosParser", "Op", "parse_escpos"]

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
_CONTROL = frozenset({0x0A, 0x0D, 0x09, 0x0C, DLE, ESC, FS, GS, 0x07, 0x00})
# Fixed number of parameter bytes after ESC x / GS x / FS x.
_ESC_ARGS = {
    0x40: 0,
    0x21: 1,
    0x61: 1,
    0x45: 1,
    0x2D: 1,
    0x64: 1,
    0x74: 1,
    0x52: 1,
    0x4D: 1,
    0x47: 1,
    0x32: 0,
    0x33: 1,
    0x4A: 1,
    0x42: 2,
    0x70: 3,
    0x7B: 1,
    0x56: 1,
    0x20: 1,
}
_GS_ARGS = {
    0x21: 1,
    0x42: 1,
    0x48: 1,
    0x68: 1,
    0x77: 1,
    0x66: 1,
    0x4C: 2,
    0x57: 2,
    0x61: 1,
    0x72: 1,
}
_FS_ARGS = {0x26: 0, 0x2E: 0, 0x21: 1, 0x43: 1, 0x57: 1, 0x2D: 1}
_NAMES = {
    (ESC, 0x40): "init",
    (ESC, 0x21): "print_mode",
    (ESC, 0x61): "align",
    (ESC, 0x45): "bold",
    (ESC, 0x2D): "underline",
    (ESC, 0x64): "feed",
    (ESC, 0x74): "codepage",
    (ESC, 0x52): "charset",
    (GS, 0x21): "char_size",
    (GS, 0x42): "invert",
    (FS, 0x26): "kanji_on",
    (FS, 0x2E): "kanji_off",
    (FS, 0x21): "kanji_mode",
}


@dataclass(frozen=True)
class Op:
    """One parsed command: name, its parameter bytes, and the raw bytes it came from."""

    name: str
    args: bytes = b""
    raw: bytes = b""


class _Incomplete(Exception):
    pass


class EscPosParser:
    """Feed bytes as they arrive; get back the complete commands."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> bytes:
        """Bytes of an incomplete trailing command."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[Op]:
        """Add bytes and return every complete command."""
        self._buf += data
        ops: list[Op] = []
        pos = 0
        buf = bytes(self._buf)
        while pos < len(buf):
            try:
                op, end = _parse_one(buf, pos)
            except _Incomplete:
                break
            ops.append(op)
            pos = end
        del self._buf[:pos]
        return ops


def _need(buf: bytes, end: int) -> None:
    if end > len(buf):
        raise _Incomplete


def _gs_paren(buf: bytes, pos: int) -> tuple[Op, int]:
    # GS ( x pL pH data
    _need(buf, pos + 5)
    fn = buf[pos + 2]
    size = buf[pos + 3] | buf[pos + 4] << 8
    end = pos + 5 + size
    _need(buf, end)
    body = buf[pos + 5 : end]
    if fn == 0x6B and size >= 3 and body[0] == 0x31:
        return _qr(body, buf[pos:end]), end
    return Op("gs_paren", bytes([fn]) + body, buf[pos:end]), end


def _gs_cut(buf: bytes, pos: int) -> tuple[Op, int]:
    # GS V m [n]
    _need(buf, pos + 3)
    m = buf[pos + 2]
    end = pos + 4 if m in (0x41, 0x42, 0x61, 0x62, 0x67, 0x68) else pos + 3
    _need(buf, end)
    return Op("cut", buf[pos + 2 : end], buf[pos:end]), end


def _gs_raster(buf: bytes, pos: int) -> tuple[Op, int]:
    # GS v 0 m xL xH yL yH raster
    _need(buf, pos + 8)
    width = buf[pos + 4] | buf[pos + 5] << 8
    height = buf[pos + 6] | buf[pos + 7] << 8
    end = pos + 8 + width * height
    _need(buf, end)
    return Op("raster", buf[pos + 4 : pos + 8], buf[pos:end]), end


def _gs_barcode(buf: bytes, pos: int) -> tuple[Op, int]:
    # GS k m ...
    _need(buf, pos + 3)
    m = buf[pos + 2]
    if m <= 6:
        nul = buf.find(b"\x00", pos + 3)
        if nul < 0:
            raise _Incomplete
        return Op("barcode", buf[pos + 2 : nul], buf[pos : nul + 1]), nul + 1
    _need(buf, pos + 4)
    end = pos + 4 + buf[pos + 3]
    _need(buf, end)
    return Op("barcode", bytes([m]) + buf[pos + 4 : end], buf[pos:end]), end


_GS_SPECIAL = {0x28: _gs_paren, 0x56: _gs_cut, 0x76: _gs_raster, 0x6B: _gs_barcode}


def _parse_one(buf: bytes, pos: int) -> tuple[Op, int]:
    b = buf[pos]
    if b not in _CONTROL:
        end = pos + 1
        while end < len(buf) and buf[end] not in _CONTROL:
            end += 1
        return Op("text", buf[pos:end], buf[pos:end]), end
    if b == 0x0A:
        return Op("lf", raw=b"\n"), pos + 1
    if b in (0x0D, 0x09, 0x0C, 0x07, 0x00):
        return Op(
            {0x0D: "cr", 0x09: "tab", 0x0C: "form_feed", 0x07: "beep", 0x00: "nul"}[b],
            raw=bytes([b]),
        ), pos + 1
    _need(buf, pos + 2)
    c = buf[pos + 1]
    if b == DLE:
        if c == 0x04:
            _need(buf, pos + 3)
            return Op("status", buf[pos + 2 : pos + 3], buf[pos : pos + 3]), pos + 3
        return Op("unknown", bytes([c]), buf[pos : pos + 2]), pos + 2
    if b == GS and c in _GS_SPECIAL:
        return _GS_SPECIAL[c](buf, pos)
    table = {ESC: _ESC_ARGS, GS: _GS_ARGS, FS: _FS_ARGS}[b]
    n = table.get(c, 1)
    end = pos + 2 + n
    _need(buf, end)
    name = _NAMES.get((b, c), "other")
    return Op(name, buf[pos + 2 : end], buf[pos:end]), end


def _qr(body: bytes, raw: bytes) -> Op:
    fn = body[1]
    if fn == 0x50:  # store data: 31 50 30 d1..dk
        return Op("qr_store", body[3:], raw)
    if fn == 0x51:
        return Op("qr_print", b"", raw)
    if fn == 0x43:
        return Op("qr_module_size", body[2:3], raw)
    if fn == 0x45:
        return Op("qr_error_level", body[2:3], raw)
    if fn == 0x41:
        return Op("qr_model", body[2:3], raw)
    return Op("qr_other", body[1:], raw)


def parse_escpos(data: bytes) -> list[Op]:
    """Parse a whole byte string; an incomplete trailing command becomes an 'incomplete' op."""
    parser = EscPosParser()
    ops = parser.feed(data)
    if parser.pending:
        ops.append(Op("incomplete", parser.pending, parser.pending))
    return ops
