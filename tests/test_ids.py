"""Ids the hub makes match the API's pattern and can never be taken for a card or ID number."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.ids import (
    HEX_ID,
    LONGEST_DIGIT_RUN,
    new_token_id,
    new_visit_id,
    visit_id_for_request,
    with_letters,
)
from branch_hub.security.audit_fields import looks_like_card_or_id_number, prepare_entry

LONG_RUN = re.compile(r"\d{13}")
HALF = 500_000  # per maker: a million ids in all


def _old_request_id(n: int) -> str:
    """The request-derived visit id as it was made before (a plain digest prefix)."""
    return hashlib.sha256(f"kiosk\x00K1\x00req-{n:08d}".encode()).hexdigest()[:16]


def _bad(ids: list[str]) -> list[str]:
    """Ids that do not match the API's pattern or that the audit's detector flags."""
    return [i for i in ids if not HEX_ID.fullmatch(i) or looks_like_card_or_id_number(i)]


def test_a_million_made_ids_match_the_pattern_and_are_never_flagged() -> None:
    random_ids = [new_visit_id() for _ in range(HALF)]
    derived = [visit_id_for_request("K1", f"req-{n:08d}") for n in range(HALF)]
    assert _bad(random_ids) == []
    assert _bad(derived) == []
    joined = " ".join(random_ids + derived)
    assert LONG_RUN.search(joined) is None  # not even an unflagged 13-digit run
    assert len(set(random_ids)) == HALF  # about 62 random bits: no collision expected


def test_the_old_makers_ids_were_flagged_so_the_check_can_fail() -> None:
    old = [_old_request_id(n) for n in range(100_000)]
    flagged = [i for i in old if looks_like_card_or_id_number(i)]
    assert flagged  # about 1 in 2,250: dozens in 100,000
    fixed = [with_letters(i) for i in flagged]
    assert _bad(fixed) == []


def test_request_derived_id_is_stable_and_depends_on_station_and_request() -> None:
    one = visit_id_for_request("K1", "req-0001")
    assert visit_id_for_request("K1", "req-0001") == one
    assert visit_id_for_request("K2", "req-0001") != one
    assert visit_id_for_request("K1", "req-0002") != one


def test_token_ids_of_other_lengths() -> None:
    for length in (9, 16, 31, 32, 64):
        token = new_token_id(length)
        assert re.fullmatch(f"[0-9a-f]{{{length}}}", token)
        assert LONG_RUN.search(token) is None
    with pytest.raises(ValueError, match="9 to 256"):
        new_token_id(8)


@settings(max_examples=300, deadline=None)
@given(station=st.text(max_size=40), request_id=st.text(max_size=80))
def test_any_request_gives_a_valid_unflagged_id(station: str, request_id: str) -> None:
    made = visit_id_for_request(station, request_id)
    assert HEX_ID.fullmatch(made)
    assert not looks_like_card_or_id_number(made)
    assert made == visit_id_for_request(station, request_id)


@settings(max_examples=500, deadline=None)
@given(raw=st.text(alphabet="0123456789abcdef", min_size=9, max_size=200))
def test_letters_cap_every_digit_run(raw: str) -> None:
    made = with_letters(raw)
    assert len(made) == len(raw)
    runs = re.findall(r"\d+", made)
    assert max(map(len, runs), default=0) <= LONGEST_DIGIT_RUN
    # Only the forced positions change, and a letter already there stays.
    changed = [i for i, (a, b) in enumerate(zip(raw, made, strict=True)) if a != b]
    assert all(i % (LONGEST_DIGIT_RUN + 1) == 8 for i in changed)
    assert with_letters(made) == made


@settings(max_examples=500, deadline=None)
@given(bits=st.integers(0, 2**64 - 1))
def test_audit_accepts_every_visit_id_the_hub_can_make(bits: int) -> None:
    made = with_letters(f"{bits:016x}")
    entry = prepare_entry("claim", device_id=made, subject=f"visit:{made}", detail={"ref": made})
    assert entry.subject == f"visit:{made}"
