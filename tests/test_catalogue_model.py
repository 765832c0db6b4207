"""The catalogue model refuses malformed items with a clear reason; the generator is realistic."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.catalogue_assets import check_asset, make_leaflet, make_picture
from sync.catalogue_model import (
    CATEGORIES,
    RISKS,
    article_from_dict,
    check_catalogue,
    product_from_dict,
)
from sync.catalogue_synth import generate_catalogue
from sync.errors import CatalogueError

AS_OF = date(2026, 5, 1)
CAT = generate_catalogue(400, 2000, seed=7, as_of=AS_OF)
GOOD = CAT.products[0].to_dict()
GOOD_ARTICLE = CAT.articles[0].to_dict()
HAN = re.compile(r"[\u4e00-\u9fff]")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(GOOD)), value=json_values)
def test_any_field_value_is_accepted_or_refused_with_its_name(field: str, value: Any) -> None:
    raw = {**GOOD, field: value}
    try:
        product = product_from_dict(raw)
    except CatalogueError as exc:
        named = (field, "yield", "valid_", "image")
        assert any(n in str(exc) for n in named)  # noqa: PT017
    else:
        assert product.to_dict()[field] == value


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(sorted(GOOD_ARTICLE)), value=json_values)
def test_any_article_value_is_accepted_or_refused_with_its_name(field: str, value: Any) -> None:
    try:
        article = article_from_dict({**GOOD_ARTICLE, field: value})
    except CatalogueError as exc:
        assert field in str(exc)  # noqa: PT017
    else:
        assert article.to_dict()[field] == value


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"risk": "R6"}, "risk must be one of R1"),
        ({"name_zh": "x" * 81}, "name_zh is longer than 80"),
        ({"name_zh": "坏\x00名"}, "name_zh contains control characters"),
        ({"name_zh": "\ud800"}, "name_zh is not valid UTF-8"),
        ({"valid_from": "2026-13-01"}, "valid_from must be an ISO date"),
        ({"tiers": ["vip"]}, "tiers entries must be among"),
        ({"selling_points_zh": ["好"] * 9}, "at most 8"),
        ({"extra": 1}, "unknown field 'extra'"),
        ({"min_amount_yuan": -1}, "min_amount_yuan must be a whole number"),
    ],
)
def test_bad_products_are_refused_with_the_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(CatalogueError, match=reason):
        product_from_dict({**GOOD, **change})


def test_cross_checks() -> None:
    p = product_from_dict({**GOOD, "image": "p-nothere.png"})
    with pytest.raises(CatalogueError, match="not in the bundle"):
        check_catalogue([p], [], set())
    with pytest.raises(CatalogueError, match="appears twice"):
        check_catalogue([p, p], [], {"p-nothere.png", str(p.leaflet)})


def test_assets_are_checked() -> None:
    check_asset("a.png", make_picture(1, "fund"))
    check_asset("a.pdf", make_leaflet("Title", ["line"]))
    with pytest.raises(CatalogueError, match="not a valid PNG"):
        check_asset("a.png", b"GIF89a....")
    with pytest.raises(CatalogueError, match="not a PDF"):
        check_asset("a.pdf", b"<html>")
    with pytest.raises(CatalogueError, match="pixel limit"):
        check_asset("a.png", make_picture(1, "fund", (5000, 4000)))


def test_the_generator_is_deterministic() -> None:
    again = generate_catalogue(400, 2000, seed=7, as_of=AS_OF)
    assert again == CAT
    assert generate_catalogue(400, 2000, seed=8, as_of=AS_OF).products != CAT.products


def test_the_generator_is_realistic() -> None:
    assert len(CAT.products) == 400
    assert len(CAT.articles) == 2000
    assert set(Counter(p.category for p in CAT.products)) == set(CATEGORIES)
    risks = Counter(p.risk for p in CAT.products)
    assert set(risks) == set(RISKS)
    assert all(p.risk == "R1" for p in CAT.products if p.category == "deposit")
    assert all(HAN.search(p.name_zh) and HAN.search(p.disclaimer_zh) for p in CAT.products)
    assert all(HAN.search(a.body_zh) for a in CAT.articles)
    assert {a.kind for a in CAT.articles} == {"faq", "procedure", "fee_rule"}
    assert any(a.product_codes for a in CAT.articles)
    assert any(not p.on_sale(AS_OF) for p in CAT.products)  # some have expired
    products = [product_from_dict(p.to_dict()) for p in CAT.products]
    articles = [article_from_dict(a.to_dict()) for a in CAT.articles]
    check_catalogue(products, articles, set(CAT.assets))
    for name, data in CAT.assets.items():
        check_asset(name, data)
