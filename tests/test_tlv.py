"""BER-TLV codec: public captures, long-form lengths, padding, repeats, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import tlv
from drivers.errors import TlvError

# E2: MichaelsPlayground/NfcCreditCardReaderBasic logfile_visacard.md (Lloyds Visa debit, "real but
# outdated card"): SELECT PPSE response, SELECT A0000000031010 response, GPO response (SW cut).
PPSE = bytes.fromhex(
    "6f2b840e325041592e5359532e4444463031a519bf0c1661144f07a00000000310109f0a080001050100000000"
)
SELECT_VISA = bytes.fromhex(
    "6f5d8407a0000000031010a5525010564953412044454249542020202020208701029f38189f66049f02069f03"
    "069f1a0295055f2a029a039c019f37045f2d02656ebf0c1a9f5a0531082608269f0a080001050100000000bf63"
    "04df200180"
)
GPO_VISA = bytes.fromhex(
    "77478202200057134921828094896752d25022013650000000000f5f3401009f100706040a03a020009f26089f"
    "98ecaea782d0739f2701809f3602033c9f6c0216009f6e0420700000"
)


def test_ppse_capture() -> None:
    (fci,) = tlv.parse(PPSE)
    assert fci.tag == 0x6F
    assert fci.constructed
    assert tlv.find([fci], 0x84).value == b"2PAY.SYS.DDF01"  # type: ignore[union-attr]
    entry = tlv.find([fci], 0x61)
    assert entry is not None
    assert entry.find(0x4F).value.hex() == "a0000000031010"  # type: ignore[union-attr]
    assert tlv.find([fci], 0xBF0C) is not None  # two-byte constructed tag


def test_select_capture_pdol_and_label() -> None:
    objs = tlv.parse(SELECT_VISA)
    assert tlv.find(objs, 0x50).value.strip() == b"VISA DEBIT"  # type: ignore[union-attr]
    pdol = tlv.find(objs, 0x9F38)
    assert pdol is not None
    assert tlv.parse_dol(pdol.value) == [
        (0x9F66, 4), (0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5),
        (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4),
    ]  # fmt: skip
    assert tlv.find(objs, 0xDF20).value == b"\x80"  # type: ignore[union-attr]  # BF63 > DF20


def test_gpo_capture_format2() -> None:
    (t77,) = tlv.parse(GPO_VISA)
    assert [tlv.tag_hex(c.tag) for c in t77.children] == [
        "82", "57", "5F34", "9F10", "9F26", "9F27", "9F36", "9F6C", "9F6E",
    ]  # fmt: skip


def test_round_trip_of_captures() -> None:
    for capture in (PPSE, SELECT_VISA, GPO_VISA):
        assert tlv.encode(tlv.parse(capture)) == capture


def test_long_form_lengths() -> None:
    # E2 shape "70 81 FB": a record longer than 127 bytes.
    body = tlv.encode_one(0x5A, bytes(8)) + tlv.encode_one(0x9F46, bytes(0xB0))
    record = tlv.encode_one(0x70, body)
    assert record[:3] == bytes([0x70, 0x81, len(body)])
    big = tlv.encode_one(0x90, bytes(300))
    assert big[:4] == bytes([0x90, 0x82, 0x01, 0x2C])
    assert tlv.parse(record)[0].find(0x9F46).value == bytes(0xB0)  # type: ignore[union-attr]
    assert tlv.parse(big)[0].value == bytes(300)


def test_padding_and_repeated_tags_kept() -> None:
    data = (
        b"\x00\x00"
        + bytes.fromhex("6103 4F01AA")
        + b"\xff"
        + bytes.fromhex("6103 4F01BB")
        + b"\x00"
    )
    objs = tlv.parse(data)
    assert [t.children[0].value for t in objs] == [b"\xaa", b"\xbb"]
    assert len(tlv.find_all(objs, 0x4F)) == 2


@pytest.mark.parametrize(
    ("hexdata", "message"),
    [
        ("6F10", "declares 16"),
        ("9F", "past the end"),
        ("5A", "length missing"),
        ("5A8501", "unsupported length"),
        ("5A80", "unsupported length"),
        ("5A8201", "past the end"),
        ("6F03700201", "tag 70 declares 2"),
        ("9FFFFFFFFF01", "longer than"),
    ],
)
def test_malformed(hexdata: str, message: str) -> None:
    with pytest.raises(TlvError, match=message):
        tlv.parse(bytes.fromhex(hexdata))


def test_nesting_limit() -> None:
    data = b"\x01"
    for _ in range(tlv.MAX_DEPTH + 2):
        data = tlv.encode_one(0x70, data)
    with pytest.raises(TlvError, match="nested"):
        tlv.parse(data)


def test_json_rendering() -> None:
    out = tlv.to_json(tlv.parse(PPSE))
    assert out[0]["tag"] == "6F"
    assert out[0]["children"][0] == {
        "tag": "84",
        "name": "Dedicated File (DF) Name",
        "value": "325041592E5359532E4444463031",
        "text": "2PAY.SYS.DDF01",
    }


# -- properties
_primitive_tags = st.one_of(
    st.integers(0x41, 0x5E).filter(lambda t: t & 0x1F != 0x1F),
    st.integers(0x80, 0x9E).filter(lambda t: t & 0x1F != 0x1F),
    st.builds(lambda b: 0x9F00 | b, st.integers(0x01, 0x7F)),
    st.builds(lambda b: 0xDF00 | b, st.integers(0x01, 0x7F)),
)
_constructed_tags = st.sampled_from([0x61, 0x6F, 0x70, 0x77, 0xA5, 0xBF0C])


def _tree() -> st.SearchStrategy[tlv.Tlv]:
    leaf = st.builds(lambda t, v: tlv.Tlv(t, v), _primitive_tags, st.binary(max_size=300))
    return st.recursive(
        leaf,
        lambda kids: st.builds(
            tlv.Tlv.build,
            _constructed_tags,
            st.lists(kids, min_size=1, max_size=4),
        ),
        max_leaves=12,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(_tree(), max_size=5))
def test_encode_parse_round_trip(objs: list[tlv.Tlv]) -> None:
    data = tlv.encode(objs)
    assert tlv.parse(data) == tuple(objs)
    assert tlv.encode(tlv.parse(data)) == data


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_tlv_error(data: bytes) -> None:
    try:
        objs = tlv.parse(data)
    except TlvError:
        return
    tlv.to_json(objs)
    assert tlv.parse(tlv.encode(objs)) == objs


@given(st.integers(0, 2**32 - 1))
def test_length_round_trip(n: int) -> None:
    enc = tlv.encode_length(n)
    assert tlv._read_length(enc, 0) == (n, len(enc))
