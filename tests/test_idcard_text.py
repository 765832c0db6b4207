"""Text block decode: resident ID, HMT permit 'J', foreigner PR 'I' and 'Y', tables, "长期"."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard.tables import NATIONS, gender_label, nation_name
from drivers.idcard.text import TextBlockError, decode_text_block, encode_text_block

RESIDENT = {
    "name": "王小明",
    "gender": "M",
    "nation": "05",
    "birth": "1985-03-09",
    "address": "北京市朝阳区建国路88号3栋201室",
    "id_number": "110105198503090016",
    "authority": "北京市公安局朝阳分局",
    "valid_from": "2015-06-01",
    "valid_to": "2035-06-01",
}


def block_at(fields: list[tuple[int, int, str]]) -> bytes:
    """A 256-byte block with values placed at (offset, size) — layouts from docs/protocols.md#sam_v-text-block (S7)."""
    block = bytearray(b" \x00" * 128)
    for off, size, value in fields:
        raw = value.encode("utf-16-le")
        assert len(raw) <= size
        block[off : off + len(raw)] = raw
    return bytes(block)


def test_resident_round_trip() -> None:
    record = decode_text_block(encode_text_block(RESIDENT))
    assert record.to_json() == {"kind": "resident_id", **RESIDENT, "nation_name": "维吾尔"}
    assert list(record.to_json())[:5] == ["kind", "name", "gender", "nation", "nation_name"]


def test_long_term_validity_never_crashes() -> None:
    # S1: valid-to holds the two characters "长期" plus spaces (HslCommunication crashed on it, §7).
    record = decode_text_block(encode_text_block({**RESIDENT, "valid_to": "long-term"}))
    assert record.valid_to == "long-term"


@pytest.mark.parametrize(
    ("code", "label"), [("0", "unknown"), ("1", "M"), ("2", "F"), ("9", "unknown")]
)
def test_gender_codes(code: str, label: str) -> None:
    # GB/T 2261.1 (S1): 0 and 9 are not female (A905Reader's mistake, §5).
    record = decode_text_block(encode_text_block(RESIDENT, gender_code=code))
    assert record.gender == label
    assert gender_label(code) == label


def test_nation_table() -> None:
    assert nation_name("01") == "汉"
    assert nation_name("56") == "基诺"
    assert nation_name("98") == "外国血统中国籍人士"
    assert nation_name("77") == ""
    assert len(NATIONS) == 58


def test_hmt_permit() -> None:
    block = encode_text_block(
        {**RESIDENT, "nation": "", "pass_number": "H12345678", "issue_count": "01"}, card_type="J"
    )
    record = decode_text_block(block)
    data = record.to_json()
    assert data["kind"] == "hmt_permit"
    assert data["pass_number"] == "H12345678"  # noqa: S105 (a permit number, not a password)
    assert data["issue_count"] == "01"
    assert data["nation"] == ""
    assert data["nation_name"] == ""


def test_old_foreigner_pr_card() -> None:
    # S7/S9 'I' layout: EN name 0/120, sex 120, PR number 122/30, nationality 152/6, CN name 158/30,
    # valid-from 188, valid-to 204, birth 220, version 236/4, office 240/8, type 248.
    block = block_at(
        [
            (0, 120, "SMITH, JOHN"),
            (120, 2, "1"),
            (122, 30, "USA110085030901"),
            (152, 6, "USA"),
            (158, 30, "史密斯"),
            (188, 16, "20170101"),
            (204, 16, "20270101"),
            (220, 16, "19850309"),
            (236, 4, "10"),
            (240, 8, "1100"),
            (248, 2, "I"),
        ]
    )
    data = decode_text_block(block).to_json()
    assert data["kind"] == "foreign_pr"
    assert data["name"] == "史密斯"
    assert data["english_name"] == "SMITH, JOHN"
    assert data["nationality"] == "USA"
    assert data["id_number"] == "USA110085030901"
    assert data["birth"] == "1985-03-09"
    assert data["valid_to"] == "2027-01-01"
    assert data["authority"] == "1100"


def test_2023_foreigner_pr_card() -> None:
    # S7 'Y' layout; S9 disagrees on the 30-byte field at 158 (see docs/drivers-serial.md).
    block = block_at(
        [
            (0, 30, "史密斯"),
            (30, 2, "2"),
            (32, 4, "00"),
            (36, 16, "19850309"),
            (52, 70, "SMITH-WORTHINGTON, JANE ELIZABETH X"),
            (122, 36, "933840198503090021"),
            (188, 16, "20230101"),
            (204, 16, "20330101"),
            (220, 22, "MARY"),
            (242, 6, "GBR"),
            (248, 2, "Y"),
        ]
    )
    data = decode_text_block(block).to_json()
    assert data["kind"] == "foreign_pr"
    assert data["gender"] == "F"
    assert data["id_number"] == "933840198503090021"
    assert data["english_name"] == "SMITH-WORTHINGTON, JANE ELIZABETH XMARY"
    assert data["nationality"] == "GBR"


@pytest.mark.parametrize(
    "block",
    [
        b"\x00" * 255,
        encode_text_block(RESIDENT)[:248]
        + "Q".encode("utf-16-le")
        + encode_text_block(RESIDENT)[250:],
        encode_text_block({**RESIDENT, "birth": "1985-13-09"}),
        encode_text_block({**RESIDENT, "birth": "1985030x"}),
        encode_text_block(RESIDENT)[:30]
        + b"\x00\xd8"
        + encode_text_block(RESIDENT)[32:],  # lone surrogate
    ],
)
def test_bad_blocks_raise_typed_error(block: bytes) -> None:
    with pytest.raises(TextBlockError):
        decode_text_block(block)


def test_repr_hides_personal_data() -> None:
    record = decode_text_block(encode_text_block(RESIDENT))
    assert RESIDENT["name"] not in repr(record)
    assert RESIDENT["id_number"] not in str(record)


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=15
    ),
    address=st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=35),
    born=st.dates(),
    gender=st.sampled_from(["M", "F"]),
    nation=st.sampled_from(sorted(NATIONS)),
)
def test_round_trip_property(
    name: str, address: str, born: object, gender: str, nation: str
) -> None:
    fields = {
        **RESIDENT,
        "name": name,
        "address": address,
        "birth": str(born),
        "gender": gender,
        "nation": nation,
    }
    data = decode_text_block(encode_text_block(fields)).to_json()
    assert data["name"] == name
    assert data["address"] == address.strip()
    assert data["birth"] == str(born)
    assert data["gender"] == gender
    assert data["nation_name"] == NATIONS[nation]
