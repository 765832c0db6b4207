"""The guest pass's parser and the guest listener's budgets, without a hub."""

from __future__ import annotations

import re
import secrets

from hypothesis import given
from hypothesis import strategies as st

from branch_hub.api.guest_limits import AddressBudget, StreamSlots
from branch_hub.lobby.guest import TOKEN_BYTES, parse_token, token_digest

_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


@given(st.text(max_size=120))
def test_any_text_is_a_pass_only_in_the_pass_shape(text: str) -> None:
    parsed = parse_token(text)
    assert parsed is None or parsed == text
    assert (parsed is not None) == bool(_SHAPE.fullmatch(text))


@given(st.binary(min_size=TOKEN_BYTES, max_size=TOKEN_BYTES))
def test_every_issued_pass_parses_and_hashes_to_32_bytes(raw: bytes) -> None:
    import base64

    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert parse_token(token) == token
    assert len(token_digest(token)) == 32
    assert parse_token(token + "=") is None
    assert parse_token(token[:-1]) is None


def test_a_real_pass_has_256_bits() -> None:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    assert parse_token(token) == token
    assert len(token) * 6 >= 256


@given(st.lists(st.sampled_from(["10.0.0.1", "10.0.0.2"]), max_size=200))
def test_a_budget_refuses_only_past_its_rate_and_logs_once_per_flood(addresses: list[str]) -> None:
    now = [0.0]
    budget = AddressBudget("guesses", 30, clock=lambda: now[0])
    spent: dict[str, int] = {}
    for address in addresses:
        wait = budget.wait_s(address)
        assert (wait == 0) == (spent.get(address, 0) < 30)
        assert 0 <= wait <= 2
        if wait == 0:
            budget.spend(address)
            spent[address] = spent.get(address, 0) + 1
    now[0] = 60.0  # a quiet minute fills the bucket again
    assert all(budget.wait_s(a) == 0 for a in addresses)


def test_stream_slots_cap_per_address_and_in_all() -> None:
    slots = StreamSlots(total=5, per_address=2)
    assert [slots.take("a") for _ in range(3)] == [True, True, False]
    assert [slots.take(x) for x in "bcd"] == [True, True, True]
    assert not slots.take("e")
    slots.give_back("a")
    assert slots.take("e")
    assert slots.open == 5
