"""Search in Chinese over the tablet's catalogue index: partial words, short terms, codes, filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_common.suitability import CUSTOMER_LEVELS, max_product_risk, suitability
from branch_hub.client import catalogue_search
from branch_hub.client._catalogue_grams import match_expression, normalise, terms_of
from branch_hub.client.catalogue_index import build_index, fts5_available
from branch_hub.client.catalogue_search import CatalogueSearch

TODAY = date(2026, 12, 3)


def product(code: str, name_zh: str, **over: Any) -> dict[str, Any]:
    """A catalogue product with the catalogue's keys; `over` replaces any of them."""
    base: dict[str, Any] = {
        "code": code, "name_zh": name_zh, "name_en": "", "category": "wealth", "risk": "R2",
        "term_days": 180, "yield_kind": "expected", "yield_pct": "2.85", "yield_basis_zh": "",
        "min_amount_yuan": 10000, "tiers": [], "segments": [], "selling_points_zh": [],
        "disclaimer_zh": "理财非存款，产品有风险，投资须谨慎。", "valid_from": "2026-01-01",
        "valid_to": "2027-12-31", "image": "", "leaflet": "",
    }  # fmt: skip
    return base | over


def article(article_id: str, title: str, body: str, **over: Any) -> dict[str, Any]:
    """A knowledge-base article with the catalogue's keys."""
    base: dict[str, Any] = {
        "article_id": article_id, "kind": "faq", "title_zh": title, "body_zh": body,
        "tags": [], "product_codes": [], "updated": "2026-11-01",
    }  # fmt: skip
    return base | over


PRODUCTS = [
    product("WM2026001", "稳健添利180天理财产品", name_en="Steady Gain 180",
            selling_points_zh=["起购金额低", "到期自动赎回"]),
    product("WM2026002", "天天盈现金管理", risk="R1", selling_points_zh=["稳健收益，随时赎回"]),
    product("FD2026003", "沪深300指数基金", category="fund", risk="R4",
            selling_points_zh=["分散投资", "长期定投"]),
    product("DP2026004", "大额存单三年期", category="deposit", risk="R1", term_days=1095),
    product("WM2025009", "稳健季季红", valid_to="2026-11-30"),  # sold out last month
    product("WM2027001", "稳健新春专享", valid_from="2027-01-01"),  # not yet on sale
    product("IN2026005", "安心养老年金保险", category="insurance", risk="R3"),
]  # fmt: skip

ARTICLES = [
    article("A1", "如何办理大额存单提前支取", "携带身份证原件到柜台办理，提前支取按活期利率计息。",
            kind="procedure", product_codes=["DP2026004"]),
    article("A2", "理财产品赎回多久到账", "一般T+1个工作日到账，节假日顺延。",
            product_codes=["WM2026001", "WM2026002"]),
    article("A3", "跨行转账手续费", "手机银行跨行转账免收手续费，柜台转账按金额收费。",
            kind="fee_rule"),
    article("A4", "基金定投说明", "每月固定日期扣款，适合长期投资，赎回按份额计算。",
            product_codes=["FD2026003"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogueSearch]:
    path = build_index(tmp_path_factory.mktemp("cat") / "catalogue.sqlite", PRODUCTS, ARTICLES)
    index = CatalogueSearch(path)
    yield index
    index.close()


def codes(search: CatalogueSearch, query: str, **filters: Any) -> list[str]:
    return [hit.code for hit in search.products(query, TODAY, **filters)]


def ids(search: CatalogueSearch, query: str, **filters: Any) -> list[str]:
    return [hit.article_id for hit in search.articles(query, **filters)]


def test_part_of_a_word_finds_the_product(search: CatalogueSearch) -> None:
    assert codes(search, "添利") == ["WM2026001"]
    assert codes(search, "现金管") == ["WM2026002"]
    assert codes(search, "指数基金") == ["FD2026003"]


def test_two_character_words(search: CatalogueSearch) -> None:
    assert set(codes(search, "存单")) == {"DP2026004"}
    assert set(codes(search, "养老")) == {"IN2026005"}


def test_one_character(search: CatalogueSearch) -> None:
    assert codes(search, "盈") == ["WM2026002"]
    assert codes(search, "险") == ["IN2026005"]  # the run's last character is indexed too


def test_every_word_must_occur(search: CatalogueSearch) -> None:
    assert codes(search, "稳健 180") == ["WM2026001"]
    assert codes(search, "稳健 基金") == []


def test_codes_and_english_names(search: CatalogueSearch) -> None:
    assert codes(search, "WM2026001") == ["WM2026001"]
    assert codes(search, "ｗｍ2026002") == ["WM2026002"]  # full-width input from a Chinese IME
    assert codes(search, "2026003") == ["FD2026003"]
    assert codes(search, "steady") == ["WM2026001"]


def test_a_name_hit_ranks_above_a_selling_point_hit(search: CatalogueSearch) -> None:
    hits = search.products("稳健", TODAY)
    assert [h.code for h in hits] == ["WM2026001", "WM2026002"]
    assert hits[0].name_hit
    assert not hits[1].name_hit


def test_a_title_hit_ranks_above_a_body_hit(search: CatalogueSearch) -> None:
    assert ids(search, "赎回") == ["A2", "A4"]
    assert ids(search, "基金")[0] == "A4"


def test_products_off_sale_are_hidden(search: CatalogueSearch) -> None:
    assert "WM2025009" not in codes(search, "稳健")
    assert "WM2027001" not in codes(search, "稳健")
    assert codes(search, "季季红") == []
    assert "WM2027001" in [h.code for h in search.products("新春", date(2027, 1, 1))]


def test_category_and_risk_filters(search: CatalogueSearch) -> None:
    assert codes(search, "", categories={"deposit"}) == ["DP2026004"]
    assert codes(search, "", max_risk="R1") == ["DP2026004", "WM2026002"]
    assert codes(search, "基金", max_risk="R3") == []
    assert codes(search, "基金", categories={"fund", "wealth"}) == ["FD2026003"]
    with pytest.raises(ValueError, match="R1-R5"):
        search.products("", TODAY, max_risk="C3")


def test_article_kind_and_product_filters(search: CatalogueSearch) -> None:
    assert ids(search, "手续费", kinds={"fee_rule"}) == ["A3"]
    assert ids(search, "手续费", kinds={"faq"}) == []
    assert ids(search, "", product_code="WM2026002") == ["A2"]
    assert ids(search, "", kinds={"procedure"}) == ["A1"]


def test_a_limit_bounds_the_rows(search: CatalogueSearch) -> None:
    assert len(search.products("稳健", TODAY, limit=1)) == 1
    assert search.products("稳健", TODAY, limit=-1) == []
    assert search.articles("", limit=0) == []


def test_a_model_with_tuples_is_indexed_like_lists(tmp_path: Path) -> None:
    points = ("保本保息", "随存随取")
    path = build_index(tmp_path / "c.sqlite", [product("T1", "元组", selling_points_zh=points)],
                       [article("T2", "元组", "正文", tags=("标签",), product_codes=("T1",))])  # fmt: skip
    index = CatalogueSearch(path)
    assert codes(index, "随存") == ["T1"]
    assert index.articles("标签")[0].product_codes == ("T1",)
    index.close()


def test_detail_lookups(search: CatalogueSearch) -> None:
    record = search.product("WM2026001")
    assert record is not None
    assert record["selling_points_zh"] == ["起购金额低", "到期自动赎回"]
    assert search.product("nope") is None
    assert search.article_body("A3") == ARTICLES[2]["body_zh"]


def test_a_rebuild_replaces_the_index_whole(tmp_path: Path) -> None:
    path = build_index(tmp_path / "c.sqlite", PRODUCTS, ARTICLES, version="v1")
    build_index(path, PRODUCTS[:1], [], version="v2")
    index = CatalogueSearch(path)
    assert [h.code for h in index.products("", TODAY)] == ["WM2026001"]
    assert index.catalogue_version == "v2"
    index.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.sqlite"]


def test_this_python_has_fts5() -> None:
    """The tablet's Python must be built with FTS5; the development venv is."""
    assert fts5_available()


def test_a_product_without_a_risk_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="R1-R5"):
        build_index(tmp_path / "c.sqlite", [product("X1", "无风险等级", risk="")], [])


FTS_SYNTAX = ['"', "'", "*", "^", ":", "name:", "points :", "NEAR(", ")", "OR", "AND", "NOT", "+",
              "-", "{name}", ";", "--", "\x00", "%", "_", "\\", "　"]  # fmt: skip
FRAGMENTS = [p["name_zh"][i : i + n] for p in PRODUCTS for i in range(3) for n in (1, 2, 3)]
QUERY = st.lists(
    st.sampled_from(FTS_SYNTAX) | st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=8
).map(" ".join) | st.text(max_size=40)


def _product_text(p: dict[str, Any]) -> str:
    return normalise("\n".join([p["name_zh"], p["name_en"], p["code"], *p["selling_points_zh"]]))


def _expected(query: str, day: date, categories: set[str], max_risk: str) -> set[str]:
    terms = terms_of(query)
    return {
        p["code"]
        for p in PRODUCTS
        if p["valid_from"] <= day.isoformat() <= p["valid_to"]
        and (not categories or p["category"] in categories)
        and p["risk"] <= max_risk
        and all(term in _product_text(p) for term in terms)
    }


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=QUERY,
    day=st.dates(min_value=date(2025, 6, 1), max_value=date(2028, 6, 1)),
    categories=st.sets(st.sampled_from(["wealth", "fund", "deposit", "insurance", "loan"])),
    max_risk=st.sampled_from(["R1", "R2", "R3", "R4", "R5"]),
)
def test_any_text_finds_exactly_the_matching_rows_within_the_filters(
    search: CatalogueSearch, query: str, day: date, categories: set[str], max_risk: str
) -> None:
    """Quotes, operators and column filters in the box never raise and never widen the query."""
    hits = search.products(query, day, categories=categories, max_risk=max_risk, limit=100)
    assert {h.code for h in hits} == _expected(query, day, categories, max_risk)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=QUERY, kinds=st.sets(st.sampled_from(["faq", "procedure", "fee_rule", "other"])))
def test_any_text_finds_exactly_the_articles_of_the_kinds_asked(
    search: CatalogueSearch, query: str, kinds: set[str]
) -> None:
    terms = terms_of(query)
    expected = {
        a["article_id"]
        for a in ARTICLES
        if (not kinds or a["kind"] in kinds)
        and all(
            term in normalise("\n".join([a["title_zh"], a["body_zh"], *a["tags"]]))
            for term in terms
        )
    }
    assert {hit.article_id for hit in search.articles(query, kinds=kinds, limit=100)} == expected


@given(level=st.sampled_from(CUSTOMER_LEVELS), query=st.sampled_from(["", "稳健", "基金", "存"]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_a_customer_search_lists_only_suitable_products(
    search: CatalogueSearch, level: str, query: str
) -> None:
    """Searching with the customer's max_product_risk finds only what the rule lets staff pitch."""
    assessment = {"level": level, "expires": "2027-06-30"}
    max_risk = max_product_risk(level)
    for hit in search.products(query, TODAY, max_risk=max_risk, limit=100):
        assert suitability(hit.risk, assessment, TODAY).suitable


def test_the_match_expression_is_hex_tokens_only() -> None:
    expression = match_expression(terms_of('稳健" OR name:* NEAR(a b) 理财'))
    assert set(expression) <= set('0123456789abcdef "*ANDOR ')
    assert expression.count(" AND ") == len(terms_of('稳健" OR name:* NEAR(a b) 理财')) - 1


def test_a_broad_word_still_lists_name_hits_first(
    search: CatalogueSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past BROAD_MATCHES rows, body hits come newest first instead of by bm25: same rows."""
    ranked = ids(search, "赎回")
    monkeypatch.setattr(catalogue_search, "BROAD_MATCHES", 0)
    assert ids(search, "赎回") == ranked  # one title hit, then the only body hit
    assert codes(search, "稳健") == ["WM2026001", "WM2026002"]
    assert set(ids(search, "柜台")) == {"A1", "A3"}  # body hits only
    assert ids(search, "手续费", limit=1) == ["A3"]  # the title hit
