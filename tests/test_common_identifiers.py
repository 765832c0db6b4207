"""Check digits and normalisation, by example (published vectors) and by property."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branch_common.identifiers import (
    IdentifierError,
    gb11643_check_char,
    is_valid_id_number,
    luhn_check_digit,
    luhn_valid,
    mask_name,
    mask_number,
    normalise,
)


def test_luhn_published_vector() -> None:
    # ISO/IEC 7812-1 Annex B worked example: 7992739871 -> check digit 3.
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_gb11643_published_vector() -> None:
    # GB 11643-1999 Annex A example number 11010519491231002X.
    assert gb11643_check_char("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")
    assert not is_valid_id_number("110105194912310021")


@given(st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_luhn_check_digit_makes_valid(partial: str) -> None:
    assert luhn_valid(partial + luhn_check_digit(partial))


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.data())
def test_luhn_detects_single_digit_errors(partial: str, data: st.DataObject) -> None:
    pan = partial + luhn_check_digit(partial)
    pos = data.draw(st.integers(0, len(pan) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != pan[pos]]))
    assert not luhn_valid(pan[:pos] + new + pan[pos + 1 :])


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_gb11643_round_trip(first17: str) -> None:
    assert is_valid_id_number(first17 + gb11643_check_char(first17))


def test_normalise() -> None:
    assert normalise("pan", "6222 0210 0109 8550 814") == "6222021001098550814"
    assert normalise("passbook", "0200-1234-5678-9012") == "0200123456789012"
    assert normalise("id_number", " 11010519491231002x ") == "11010519491231002X"
    for kind, value in (("pan", "62220abc"), ("id_number", "1101051949123100"), ("phone", "1")):
        with pytest.raises(IdentifierError):
            normalise(kind, value)


@given(st.sampled_from(["pan", "passbook", "id_number", "other"]), st.text(max_size=40))
def test_normalise_never_crashes(kind: str, value: str) -> None:
    with contextlib.suppress(IdentifierError):
        normalise(kind, value)


def test_masks() -> None:
    assert mask_number("6222021001098550814") == "6222***********0814"
    assert mask_name("欧阳明") == "欧**"
    assert mask_number("123") == "***"
