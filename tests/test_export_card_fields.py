"""The export's card fields: synthesised deterministically, checked at publish, optional for old exports."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.cache import CustomerCache
from sync.export_fields import PRODUCT_CATEGORIES, RISK_LEVELS, ExportFieldError, check_card_fields
from sync.export_reader import parse_line
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, generate

AS_OF = date(2026, 11, 1)
CARD = ("aum_band", "products", "benefits", "risk_assessment", "attrition_risk")
BASE = next(generate(SynthOptions(customers=1, seed=42, as_of=AS_OF)))


@pytest.fixture(scope="module")
def customers() -> list[dict[str, Any]]:
    return list(generate(SynthOptions(customers=6_000, seed=42, as_of=AS_OF)))


def test_synth_card_fields_are_deterministic_and_valid(customers: list[dict[str, Any]]) -> None:
    again = list(generate(SynthOptions(customers=6_000, seed=42, as_of=AS_OF)))
    assert again == customers
    other = list(generate(SynthOptions(customers=200, seed=43, as_of=AS_OF)))
    assert [c["products"] for c in other] != [c["products"] for c in customers[:200]]
    for c in customers:
        assert set(CARD) <= c.keys()
        check_card_fields(c)
        parse_line(orjson.dumps(c))
        assert set(c["products"]) == set(PRODUCT_CATEGORIES)
        wealth = c["products"]["wealth_management"] or c["products"]["funds"]
        if wealth:
            assert c["risk_assessment"]["level"] in RISK_LEVELS
        if c["risk_assessment"] is None:
            assert not wealth
        assert str(int(c["aum"])) not in c["aum_band"]


def test_synth_card_fields_have_a_realistic_spread(customers: list[dict[str, Any]]) -> None:
    risks = [c["risk_assessment"] for c in customers if c["risk_assessment"]]
    expired = [r for r in risks if date.fromisoformat(r["expires"]) < AS_OF]
    flagged = [c for c in customers if c["attrition_risk"] and c["attrition_risk"]["flag"]]
    assert 0.05 < len(expired) / len(risks) < 0.25
    assert 0.03 < len(flagged) / len(customers) < 0.15
    assert all(c["attrition_risk"]["reason"] for c in flagged)
    lounges = {c["tier"] for c in customers if "airport_lounge" in c["benefits"]}
    assert lounges <= {"wealth", "private"}


def test_adding_card_fields_left_older_fields_unchanged(customers: list[dict[str, Any]]) -> None:
    # The card fields draw from their own generator: the rest of a customer depends on the seed only.
    assert customers[0]["customer_id"] == "C0000000000"
    first = {k: v for k, v in customers[0].items() if k not in CARD}
    assert orjson.dumps(first).startswith(b'{"customer_id":"C0000000000","name":')
    assert len({c["id_number"] for c in customers}) == len(customers)


def test_an_old_export_line_without_card_fields_still_parses(
    customers: list[dict[str, Any]],
) -> None:
    old = {k: v for k, v in customers[0].items() if k not in CARD}
    assert parse_line(orjson.dumps(old))[1] == "C0000000000"
    nulls = old | {name: None for name in CARD}
    assert parse_line(orjson.dumps(nulls))[1] == "C0000000000"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"aum_band": 734512.66}, "aum_band"),
        ({"aum_band": "734,512.66元"}, "aum_band"),
        ({"risk_assessment": {"level": "C6", "expires": "2027-01-01"}}, "risk_assessment.level"),
        ({"risk_assessment": {"level": "C1", "expires": "20270101"}}, "risk_assessment.expires"),
        ({"risk_assessment": {"level": "C1", "expires": "2027-02-30"}}, "risk_assessment.expires"),
        ({"risk_assessment": {"level": "C1"}}, "risk_assessment.expires"),
        ({"products": {"stocks": []}}, "products"),
        ({"products": {"deposits": [500000]}}, "products.deposits"),
        ({"products": {"deposits": ["500000.00"]}}, "products.deposits"),
        ({"benefits": ["Airport Lounge"]}, "benefits"),
        ({"attrition_risk": {"flag": 1}}, "attrition_risk.flag"),
        ({"attrition_risk": {"flag": True, "reason": "他行优惠"}}, "attrition_risk.reason"),
        ({"segments": "senior"}, "segments"),
        ({"relationship_manager": ""}, "relationship_manager"),
    ],
)
def test_a_malformed_card_field_is_named(
    customers: list[dict[str, Any]], bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(ExportFieldError) as info:
        check_card_fields(customers[0] | bad)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field} must be ")
    with pytest.raises(ValueError, match=f"^{field} must be "):
        parse_line(orjson.dumps(customers[0] | bad))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_NEAR = st.fixed_dictionaries(
    {},
    optional={
        "level": st.sampled_from([*RISK_LEVELS, "C0", ""]) | _JSON,
        "expires": st.sampled_from(["2027-01-01", "2027-13-01", "x"]) | _JSON,
        "flag": st.booleans() | _JSON,
        "reason": st.sampled_from(["balance_outflow", "Bad", None]) | _JSON,
        **{
            c: st.lists(st.text(max_size=8) | _JSON, max_size=3) | _JSON for c in PRODUCT_CATEGORIES
        },
    },
)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from([*CARD, "segments", "relationship_manager"]), value=_JSON | _NEAR)
def test_any_card_field_value_is_accepted_or_named_never_a_crash(name: str, value: object) -> None:
    line = orjson.dumps(BASE | {name: value})
    error: ExportFieldError | None = None
    try:
        parse_line(line)
    except ExportFieldError as exc:
        error = exc
    if error is not None:
        assert error.field.split(".")[0] == name
        assert str(error).startswith(f"{error.field} must be ")


def test_a_cache_from_an_old_export_gains_the_card_fields_with_the_next_delta(
    tmp_path: Path,
) -> None:
    # An export from before the card fields publishes and pulls; the delta to a new export
    # re-seals every customer with them, on the same bundle format.
    new = list(generate(SynthOptions(customers=30, seed=7, as_of=AS_OF)))
    old = [{k: v for k, v in c.items() if k not in CARD} for c in new]
    old_path, new_path = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old_path.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in old))
    new_path.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in new))
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    out, cache_dir = tmp_path / "pub", tmp_path / "cache"

    def publish_and_pull(export: Path, previous: Path | None) -> None:
        publish(
            export, hub.public_key(), hq, out, "B1", previous=previous, workers=1, progress=False
        )
        pull(
            out.as_uri(),
            cache_dir,
            hq_public=hq.public_key(),
            hub_key=hub,
            branch_id="B1",
            progress=False,
        )

    publish_and_pull(old_path, None)
    pan = new[3]["cards"][0]["pan"]
    with CustomerCache(cache_dir, hub) as cache:
        found = cache.identify("pan", pan)
        assert found is not None
        assert not set(CARD) & found.record.keys()
    publish_and_pull(new_path, old_path)
    with CustomerCache(cache_dir, hub) as cache:
        found = cache.identify("pan", pan)
        assert found is not None
        assert {k: found.record[k] for k in CARD} == {k: new[3][k] for k in CARD}
