"""EMV/PBOC reading in-process: virtual card profiles, a replayed public trace, T=0 chaining."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branch_common.identifiers import luhn_valid
from drivers import tlv
from drivers.emv import CardRead, EmvReader, exchange, parse_track2_equivalent
from drivers.emv.apdu import get_response, read_record, select
from drivers.emv.reader import build_pdol, parse_afl, parse_gpo
from drivers.errors import NoApplication, ProtocolError, StatusWordError
from drivers.sim.card import PROFILES, CardIdentity, Fault, VirtualCard, profile
from tests.sim_identities import synthetic_card
from tests.test_tlv import GPO_VISA, PPSE, SELECT_VISA

IDENT = synthetic_card(7)


@pytest.mark.parametrize("name", PROFILES)
def test_profiles_read(name: str) -> None:
    card = VirtualCard(profile(name, IDENT))
    got = EmvReader().read(card)
    assert got.pan == IDENT.pan
    assert luhn_valid(got.pan)
    assert got.pan.startswith("62")
    assert got.expiry == IDENT.expiry
    assert got.holder_id == IDENT.holder_id
    assert got.aid.startswith("A000000333")
    assert got.source == {"contactless": "ppse", "no_pse": "list"}.get(name, "pse")
    assert got.to_json()["kind"] == "bank_card"


def test_no_pse_chooses_by_priority() -> None:
    # The card offers e-cash (priority 2) and credit (priority 1): credit wins.
    got = EmvReader().read(VirtualCard(profile("no_pse", IDENT)))
    assert got.aid == "A000000333010102"


def test_repr_hides_personal_data() -> None:
    got = EmvReader().read(VirtualCard(profile("unionpay_debit", IDENT)))
    assert IDENT.pan not in repr(got)
    assert str(IDENT.holder_id) not in repr(got)


class _Replay:
    """A card that answers from the E2 public trace (Lloyds Visa debit, PPSE only)."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if apdu == select(b"2PAY.SYS.DDF01"):
            return PPSE, 0x9000
        if apdu == select(bytes.fromhex("A0000000031010")):
            return SELECT_VISA, 0x9000
        if apdu[:2] == b"\x80\xa8":
            # PDOL: 9F66(4) 9F02(6) 9F03(6) 9F1A(2) 95(5) 5F2A(2) 9A(3) 9C(1) 9F37(4) = 33 bytes.
            assert apdu[5:7] == bytes([0x83, 33])
            return GPO_VISA, 0x9000
        return b"", 0x6A82


def test_public_visa_trace() -> None:
    got = EmvReader().read(_Replay())
    assert (got.pan, got.expiry, got.aid, got.label) == (
        "4921828094896752",
        "2502",
        "A0000000031010",
        "VISA DEBIT",
    )
    assert got.name is None
    assert got.holder_id is None


class _Counting:
    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        return self.card.transmit(apdu)


def test_t0_get_response_chaining_keeps_every_byte() -> None:
    t0 = _Counting(VirtualCard(profile("t0", IDENT)))
    plain = VirtualCard(profile("unionpay_debit", IDENT))
    for card in (t0.card, plain):
        card.transmit(select(b"1PAY.SYS.DDF01"))
    aid = bytes.fromhex("A000000333010101")
    data, sw = exchange(t0, select(aid))
    expected = plain.transmit(select(aid))
    assert (data, sw) == expected
    assert len(data) > 2 * 0x10  # long enough that several GET RESPONSEs were chained
    assert sum(a[1] == 0xC0 for a in t0.sent) >= 2


def test_t0_wrong_le_is_resent() -> None:
    t0 = _Counting(VirtualCard(profile("t0", IDENT)))
    t0.transmit(select(b"1PAY.SYS.DDF01"))
    t0.sent.clear()
    data, sw = exchange(t0, read_record(1, 1))
    assert sw == 0x9000
    assert tlv.parse(data)[0].tag == 0x70
    assert t0.sent[0][-1] == 0x00
    assert t0.sent[1][-1] == len(data)


def test_wrong_status_word_fault() -> None:
    card = VirtualCard(profile("unionpay_debit", IDENT))
    card.fault = Fault.wrong_sw
    with pytest.raises(StatusWordError) as info:
        EmvReader().read(card)
    assert info.value.sw == 0x6F00


def test_no_application() -> None:
    class Blank:
        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            return b"", 0x6A82

    with pytest.raises(NoApplication):
        EmvReader().read(Blank())


def test_looping_card_is_a_protocol_error() -> None:
    class Loop:
        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            return b"\x00", 0x6110

    with pytest.raises(ProtocolError, match="61xx"):
        exchange(Loop(), get_response(0x10))


def test_pdol_china_values() -> None:
    # PDOL seen on UnionPay contact cards (docs/protocols.md#emv-get-processing-options): 9F7A01 9F0206 5F2A02.
    assert build_pdol(bytes.fromhex("9F7A019F02065F2A02")) == bytes.fromhex(
        "00" + "00" * 6 + "0156"
    )
    # A shorter field than the terminal value keeps the leftmost bytes; longer pads with zeros.
    assert build_pdol(bytes.fromhex("9F6602")) == bytes.fromhex("2600")
    assert build_pdol(bytes.fromhex("DF0103")) == bytes(3)


def test_gpo_formats_and_afl() -> None:
    aip, afl, _ = parse_gpo(bytes.fromhex("800A19801001010018010200"))
    assert aip == b"\x19\x80"
    assert parse_afl(afl) == [(2, 1), (3, 1), (3, 2)]
    aip, afl, extra = parse_gpo(GPO_VISA)
    assert aip == b"\x20\x00"
    assert afl == b""
    assert tlv.find(extra, 0x57) is not None
    with pytest.raises(ProtocolError):
        parse_afl(bytes.fromhex("10020100"))
    with pytest.raises(ProtocolError):
        parse_gpo(bytes.fromhex("8003198010"))


def test_track2_equivalent() -> None:
    value = bytes.fromhex("4921828094896752D25022013650000000000F")  # E2 capture
    assert parse_track2_equivalent(value) == ("4921828094896752", "2502", "201")
    with pytest.raises(ProtocolError):
        parse_track2_equivalent(bytes.fromhex("4921828094896752"))


@given(
    st.from_regex(r"62[0-9]{14,17}", fullmatch=True),
    st.from_regex(r"[0-9]{2}(0[1-9]|1[0-2])", fullmatch=True),
)
def test_any_identity_reads_back(pan: str, expiry: str) -> None:
    ident = CardIdentity(pan, expiry, "LI/SI", "11010519900101123X")
    for name, holder in (("t0", "LI SI"), ("contactless", None)):
        got: CardRead = EmvReader().read(VirtualCard(profile(name, ident)))
        assert (got.pan, got.expiry, got.name, got.holder_id) == (
            pan,
            expiry,
            holder,
            ident.holder_id,
        )
