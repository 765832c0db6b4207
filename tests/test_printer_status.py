"""DLE EOT status decode and ticket bytes: vectors from public docs (P1, P3), hypothesis properties."""

from __future__ import annotations

from datetime import datetime

import pytest
from escpos.printer import Dummy
from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.status import StatusError, combine_status, decode_status, is_valid_status_byte
from drivers.printer.ticket import TicketLayout, ticket_bytes
from drivers.sim.escpos_stream import parse_escpos
from drivers.sim.printer import interpret_escpos

# P1 test_function_qr_native: qr("1234", native=True).
P1_QR = bytes.fromhex(
    "1d286b0400314132001d286b03003143031d286b03003145301d286b0700315030313233341d286b0300315130"
)
LAYOUT = TicketLayout(
    "示例银行朝阳支行", "A012", "个人业务", 3, 5, 12, datetime(2024, 5, 6, 9, 30), "T-42"
)


def test_p1_online_and_paper_vectors() -> None:
    # P1 tests: 0x12 -> online, paper OK; 0x1E -> paper near end.
    assert decode_status(1, b"\x12") == {
        "drawer_pin3_high": False,
        "offline": False,
        "waiting_online_recovery": False,
        "feed_button_pressed": False,
    }
    assert decode_status(4, b"\x12") == {"paper_near_end": False, "paper_end": False}
    assert decode_status(4, b"\x1e") == {"paper_near_end": True, "paper_end": False}


def test_p3_out_of_paper_example() -> None:
    # P3: replies (DLE EOT 1, 2, 4) = (0x1A, 0x32, 0x7E) -> offline, paper-end stop, near end and end.
    status = combine_status(b"\x1a", b"\x32", b"\x7e")
    assert status.offline
    assert status.paper_end_stop
    assert status.paper_near_end
    assert status.paper_end
    assert not status.cover_open
    assert not status.healthy


def test_near_end_is_still_healthy() -> None:
    status = combine_status(b"\x12", b"\x12", b"\x1e")
    assert status.healthy
    assert status.problems == ["paper_near_end"]


@pytest.mark.parametrize("reply", [b"", b"\x12\x12", b"\x13", b"\x92", b"\x02", b"\xff"])
def test_invalid_replies(reply: bytes) -> None:
    with pytest.raises(StatusError):
        decode_status(1, reply)


@given(st.integers(0, 255), st.sampled_from([1, 2, 3, 4]))
def test_valid_iff_fixed_bits(b: int, n: int) -> None:
    # P1 _check_valid_response: bits 0 and 7 clear, bits 1 and 4 set.
    fixed = not (b & 0x01) and not (b & 0x80) and bool(b & 0x02) and bool(b & 0x10)
    assert is_valid_status_byte(b) == fixed
    if fixed:
        assert isinstance(decode_status(n, bytes([b])), dict)
    else:
        with pytest.raises(StatusError):
            decode_status(n, bytes([b]))


def test_python_escpos_native_qr_matches_p1() -> None:
    d = Dummy()
    d.qr("1234", native=True)
    assert d.output == P1_QR
    ops = parse_escpos(P1_QR)
    assert [op.name for op in ops] == [
        "qr_model",
        "qr_module_size",
        "qr_error_level",
        "qr_store",
        "qr_print",
    ]
    assert ops[3].args == b"1234"


def test_ticket_bytes() -> None:
    data = ticket_bytes(LAYOUT)
    assert data.startswith(b"\x1b\x40\x1c\x26")  # ESC @, FS & (P5)
    assert "示例银行朝阳支行".encode("gb18030") in data
    assert b"\x1d\x21\x33" in data.split(b"A012")[0][-12:]  # GS ! 0x33: 4x4 ticket number
    assert b"\x1d\x28\x6b\x07\x00\x31\x50\x30T-42" in data  # GS ( k store, pL = 4 + 3
    assert data.endswith(b"\x1b\x64\x06\x1d\x56\x00")  # P1 cut(): ESC d 6, GS V 0
    lines = interpret_escpos(data)
    assert lines[:3] == ["示例银行朝阳支行", "您的排队号码", "A012"]
    assert "前面还有 3 人等候" in lines
    assert "约 5–12 分钟" in lines  # branch_common.wait_words, as the kiosk and display say it
    assert LAYOUT.english_line in lines


@given(st.binary(max_size=300), st.integers(1, 50))
def test_stream_parser_chunking_is_irrelevant(data: bytes, step: int) -> None:
    from drivers.sim.escpos_stream import EscPosParser

    whole = parse_escpos(data)
    parser = EscPosParser()
    ops = []
    for i in range(0, len(data), step):
        ops += parser.feed(data[i : i + step])
    if parser.pending:
        from drivers.sim.escpos_stream import Op

        ops.append(Op("incomplete", parser.pending, parser.pending))
    # Text runs may split at chunk borders; compare the bytes each kind of op covers.
    assert b"".join(op.raw for op in ops) == b"".join(op.raw for op in whole) == data
