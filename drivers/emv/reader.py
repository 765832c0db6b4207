"""Read a bank card: select an application, GET PROCESSING OPTIONS, READ RECORD over the AFL."""

from __future__ import annotations

import logging

from drivers import tlv
from drivers.emv.apdu import (
    CardTransport,
    exchange,
    expect_ok,
    get_processing_options,
    read_record,
    select,
)
from drivers.emv.selection import DEFAULT_AIDS, Candidate, KnownAid, candidates
from drivers.errors import CardError, NoApplication, ProtocolError, StatusWordError
from drivers.events import CardRead

__all__ = [
    "CHINA_TERMINAL",
    "CardRead",
    "EmvReader",
    "build_pdol",
    "parse_afl",
    "parse_gpo",
    "parse_track2_equivalent",
]

log = logging.getLogger(__name__)

# China terminal values for PDOL data (UnionPay/PBOC terminals; see docs/drivers.md sources).
CHINA_TERMINAL: dict[int, bytes] = {
    0x9F1A: bytes.fromhex("0156"),  # terminal country code: China
    0x5F2A: bytes.fromhex("0156"),  # transaction currency: CNY
    0x9F66: bytes.fromhex("26000080"),  # TTQ: qPBOC, contact chip, online capable
    0x9F7A: b"\x00",  # e-cash not supported
    0xDF60: b"\x00",
    0xDF69: b"\x00",  # SM algorithm not supported
    0x95: bytes(5),  # TVR
    0x9C: b"\x00",  # transaction type: purchase
    0x9F02: bytes(6),  # amount authorised: 0 (we only identify the customer)
    0x9F03: bytes(6),
    0x9F35: b"\x22",  # terminal type: attended, offline with online capability
    0x9F33: bytes.fromhex("E0E1C8"),  # terminal capabilities
    0x9F37: bytes.fromhex("1A2B3C4D"),  # unpredictable number (no crypto is verified here)
    0x9A: bytes.fromhex("250101"),  # transaction date YYMMDD
}

MAX_RECORDS = 64


def build_pdol(pdol: bytes, terminal: dict[int, bytes] = CHINA_TERMINAL) -> bytes:
    """Concatenate terminal values in PDOL order, padded/truncated per EMV Book 3 §5.4."""
    out = bytearray()
    for tag, length in tlv.parse_dol(pdol):
        value = terminal.get(tag, b"")
        if len(value) >= length:
            # Numeric fields keep their rightmost bytes; others their leftmost (Book 3 §5.4).
            out += value[len(value) - length :] if tag in (0x9F02, 0x9F03) else value[:length]
        else:
            out += value + bytes(length - len(value))
    return bytes(out)


def parse_gpo(data: bytes) -> tuple[bytes, bytes, tuple[tlv.Tlv, ...]]:
    """Parse a GPO response, format 1 (80) or 2 (77); return AIP, AFL and any other objects."""
    objs = tlv.parse(data)
    if not objs:
        raise ProtocolError("empty GET PROCESSING OPTIONS response")
    top = objs[0]
    if top.tag == 0x80:
        if len(top.value) < 2 or (len(top.value) - 2) % 4:
            raise ProtocolError("GPO format 1 must hold AIP(2) and AFL(4n)")
        return top.value[:2], top.value[2:], ()
    if top.tag == 0x77:
        aip = tlv.find(top.children, 0x82)
        afl = tlv.find(top.children, 0x94)
        if aip is None or len(aip.value) != 2:
            raise ProtocolError("GPO format 2 without a 2-byte AIP (82)")
        afl_value = afl.value if afl is not None else b""
        if len(afl_value) % 4:
            raise ProtocolError("AFL length is not a multiple of 4")
        return aip.value, afl_value, top.children
    raise ProtocolError(f"unexpected GPO template {tlv.tag_hex(top.tag)}")


def parse_afl(afl: bytes) -> list[tuple[int, int]]:
    """Expand an AFL into (sfi, record) pairs in order (EMV Book 3 §10.2)."""
    if len(afl) % 4:
        raise ProtocolError("AFL length is not a multiple of 4")
    out: list[tuple[int, int]] = []
    for i in range(0, len(afl), 4):
        sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
        if not 1 <= sfi <= 30 or first == 0 or last < first:
            raise ProtocolError(f"invalid AFL entry {afl[i : i + 4].hex().upper()}")
        out.extend((sfi, rec) for rec in range(first, last + 1))
    if len(out) > MAX_RECORDS:
        raise ProtocolError("AFL lists too many records")
    return out


def _bcd_digits(value: bytes) -> str:
    return value.hex().upper()


def parse_track2_equivalent(value: bytes) -> tuple[str, str, str]:
    """Split tag 57 into (PAN, expiry YYMM, service code); 'D' separates (EMV Book 3 Annex A)."""
    digits = _bcd_digits(value).rstrip("F")
    pan, sep, rest = digits.partition("D")
    if not sep or not pan.isdigit() or not 12 <= len(pan) <= 19 or len(rest) < 7:
        raise ProtocolError("malformed Track 2 Equivalent Data (57)")
    expiry, service = rest[:4], rest[4:7]
    if not (expiry + service).isdigit():
        raise ProtocolError("malformed Track 2 Equivalent Data (57)")
    return pan, expiry, service


def _text(value: bytes) -> str | None:
    text = value.decode("latin-1").strip()
    return text or None


class EmvReader:
    """Read one card through a `CardTransport`; stateless between reads."""

    def __init__(
        self,
        known: tuple[KnownAid, ...] = DEFAULT_AIDS,
        terminal: dict[int, bytes] | None = None,
    ) -> None:
        self.known = known
        self.terminal = CHINA_TERMINAL if terminal is None else terminal

    def read(self, card: CardTransport) -> CardRead:
        """Select the best application the card offers and read its identity data."""
        found = candidates(card, self.known)
        if not found:
            raise NoApplication("no supported payment application on the card")
        last: CardError | None = None
        for cand in found:
            try:
                return self._read_application(card, cand)
            except StatusWordError as exc:
                # 6985/6283 at SELECT or GPO: drop this application, try the next (Book 1 §12.4).
                if exc.sw not in (0x6985, 0x6283, 0x6A81, 0x6A82):
                    raise
                last = exc
        raise NoApplication("no application on the card could be started") from last

    def _read_application(self, card: CardTransport, cand: Candidate) -> CardRead:
        fci = tlv.parse(expect_ok(card, select(cand.aid), "SELECT application"))
        pdol = tlv.find(fci, 0x9F38)
        values = build_pdol(pdol.value, self.terminal) if pdol is not None else b""
        gpo = expect_ok(card, get_processing_options(values), "GET PROCESSING OPTIONS")
        _aip, afl, extra = parse_gpo(gpo)
        objects: list[tlv.Tlv] = list(extra)
        for sfi, record in parse_afl(afl):
            data, sw = exchange(card, read_record(record, sfi), "READ RECORD")
            if sw != 0x9000:
                raise StatusWordError(sw, f"READ RECORD {record} SFI {sfi}")
            objects.extend(tlv.parse(data))
        label = _label_from_fci(fci, cand.label)
        return _card_read(objects, cand, label)


def _label_from_fci(fci: tuple[tlv.Tlv, ...], fallback: str) -> str:
    for tag in (0x9F12, 0x50):
        t = tlv.find(fci, tag)
        if t is not None and (text := _text(t.value)):
            return text
    return fallback


def _card_read(objects: list[tlv.Tlv], cand: Candidate, label: str) -> CardRead:
    pan: str | None = None
    expiry: str | None = None
    service: str | None = None
    t57 = tlv.find(objects, 0x57)
    if t57 is not None:
        pan, expiry, service = parse_track2_equivalent(t57.value)
    t5a = tlv.find(objects, 0x5A)
    if t5a is not None:
        digits = _bcd_digits(t5a.value).rstrip("F")
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise ProtocolError("malformed PAN (5A)")
        pan = digits
    t5f24 = tlv.find(objects, 0x5F24)
    if t5f24 is not None:
        digits = _bcd_digits(t5f24.value)
        if len(digits) != 6 or not digits.isdigit():
            raise ProtocolError("malformed expiry date (5F24)")
        expiry = digits[:4]
    if pan is None or expiry is None:
        raise ProtocolError("the card records hold no PAN and expiry (5A/57, 5F24)")
    name = None
    for tag in (0x9F0B, 0x5F20):
        t = tlv.find(objects, tag)
        if t is not None and (name := _text(t.value)):
            name = name.replace("/", " ").strip() or None
            break
    holder_id = holder_type = None
    t61 = tlv.find(objects, 0x9F61)
    if t61 is not None:
        holder_id = _text(t61.value)
        t62 = tlv.find(objects, 0x9F62)
        holder_type = t62.value.hex() if t62 is not None else None
    return CardRead(
        pan=pan,
        expiry=expiry,
        aid=cand.aid.hex().upper(),
        label=label,
        name=name,
        holder_id=holder_id,
        holder_id_type=holder_type,
        service_code=service,
        source=cand.source,
    )
