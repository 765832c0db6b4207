"""The catalogue screens' words and sources, without a window: zh-CN formats, the suitability
flag, the index folder and the verified copy as sources, and the lead's product lookup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from branch_hub.client.catalogue_copy import CatalogueCopyError
from tablet import catalogue_nav, theme
from tablet.catalogue_source import IndexFolderSource, source_of
from tablet.catalogue_words import (
    LINE_CATEGORIES,
    amount_text,
    category_name,
    flag_for,
    risk_name,
    term_text,
    valid_text,
    yield_text,
)
from tablet.i18n import use_language
from tests.support.catalogue_folder import BROKEN, build_catalogue_folder


@pytest.fixture
def english() -> Iterator[None]:
    use_language("en")
    try:
        yield
    finally:
        use_language("zh_CN")


def test_product_facts_in_chinese() -> None:
    assert [category_name(c) for c in ("deposit", "wealth", "fund", "pension")] == [
        "存款",
        "理财",
        "基金",
        "养老",
    ]
    assert [risk_name(r) for r in ("R1", "R2", "R3", "R4", "R5")] == [
        "R1 低",
        "R2 中低",
        "R3 中",
        "R4 中高",
        "R5 高",
    ]
    assert yield_text("3.150", "业绩比较基准（年化）") == "3.15%（业绩比较基准（年化））"
    assert yield_text("1.7620", "", "nav") == "净值 1.762"
    assert yield_text(None) == yield_text("not a number") == ""
    assert [term_text(d) for d in (365, 1095, 90, 7, None)] == [
        "1年",
        "3年",
        "3个月",
        "7天",
        "无固定期限",
    ]
    assert amount_text(200_000) == "¥200,000.00起"
    assert amount_text(0) == "无起购金额"
    assert valid_text("2026-01-01", "2026-12-31") == "销售期 2026年1月1日 – 2026年12月31日"
    assert valid_text("soon", "later") == ""


def test_product_facts_in_english(english: None) -> None:
    assert category_name("forex") == "Foreign exchange"
    assert risk_name("R4") == "R4 Medium-high"
    assert term_text(180) == "6 months"
    assert amount_text(1000) == "From CN¥1,000.00"


def test_the_suitability_flag_prefers_the_hubs_verdict() -> None:
    product = {"risk": "R4"}
    today = date(2026, 12, 3)
    fresh = {"level": "C2", "expires": "2027-06-30"}
    assert flag_for(product, None, fresh, today).text == "不适合：产品风险高于客户风险承受能力"
    assert flag_for(product, None, {"level": "C5", "expires": "2026-12-02"}, today).text == (
        "风险评估已过期"
    )
    assert flag_for(product, None, None, today).text == "未做风险评估"
    suitable = flag_for(product, "suitable", None, today)  # the hub knows best
    assert suitable.text == "适合该客户"
    assert suitable.colours == (theme.ON_DARK, theme.ACCENT)
    for code in ("risk_too_high", "assessment_expired", "no_assessment", "not_in_catalogue"):
        ink, fill = flag_for(product, code, fresh, today).colours
        assert theme.contrast_ratio(ink, fill) >= 4.5


def test_every_lead_product_line_has_a_catalogue_category() -> None:
    from sync.synth_tables import PRODUCTS

    # Services and gold are no catalogue category: their leads say "not in the catalogue".
    lines = {code for code, _name, _points in PRODUCTS} - {"mobile_banking", "gold", "payroll"}
    assert lines <= set(LINE_CATEGORIES)


def test_an_index_folder_is_a_source(tmp_path: Path) -> None:
    empty = IndexFolderSource(tmp_path / "none")
    assert empty.search() is None
    catalogue = build_catalogue_folder(tmp_path / "cat", products=30, articles=10)
    source = IndexFolderSource(tmp_path / "cat")
    search = source.search()
    assert search is not None
    assert search is source.search(), "opened once"
    pictured = [p for p in catalogue.products if p.image]
    assert source.image(str(pictured[-1].image)) == catalogue.assets[str(pictured[-1].image)]
    assert BROKEN in {source.image(str(p.image)) for p in pictured}
    assert source.image("missing.png") is None
    assert source.image("../cat/index.sqlite") is None, "a name, never a path"


class _Copy:
    """Stands in for the verified copy: open(), file() and forget_current() as its contract says."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.opened, self.tampered = folder, 0, False
        self.sequence: int | None = 1

    def open(self) -> Any:
        from branch_hub.client.catalogue_copy import CatalogueCopyError
        from branch_hub.client.catalogue_search import CatalogueSearch

        self.opened += 1
        if self.tampered:
            raise CatalogueCopyError("catalogue_copy_tampered", "index digest")
        return CatalogueSearch(self.folder / "index.sqlite")

    def file(self, name: str) -> bytes | None:
        return b"png" if name == "p.png" else None

    def forget_current(self) -> None:
        self.sequence = None


def test_the_keeper_reopens_the_copy_only_when_it_changes_and_drops_a_tampered_one(
    tmp_path: Path,
) -> None:
    from tablet.catalogue_keeper import RETRY_S, CatalogueKeeper

    build_catalogue_folder(tmp_path / "cat", products=10, articles=5)
    now = [1000.0]
    keeper = CatalogueKeeper(lambda: now[0], tmp_path / "keeper")
    copy = keeper.copy = _Copy(tmp_path / "cat")  # type: ignore[assignment]
    first = keeper.search()
    assert first is not None
    assert keeper.search() is first
    copy.sequence = 2
    assert keeper.search() is not first
    assert copy.opened == 2
    assert (keeper.image("p.png"), keeper.image("q.png")) == (b"png", None)
    copy.tampered, copy.sequence = True, 3
    assert keeper.search() is None, "a copy changed on disk is refused"
    assert keeper.problem == "catalogue_copy_tampered"
    assert copy.sequence is None
    keeper._next, keeper.running = now[0] + 900, True
    assert keeper.settled(None) is False
    assert keeper.problem == ""
    refused = CatalogueCopyError("catalogue_bad_chunk", "one flipped bit")
    assert keeper.settled(refused) is False, "never put on a staff member's screen"
    assert keeper.problem == "catalogue_bad_chunk"
    assert keeper._next == now[0] + RETRY_S


def _view(tmp_path: Path) -> Any:
    store = SimpleNamespace(root=tmp_path)
    session = SimpleNamespace(role="wealth_manager", staff_id="w1")
    state = SimpleNamespace(session=session, touch=lambda: None)
    tablet = SimpleNamespace(store=store, state=state, screen="advisor", activity=lambda: None)
    tablet.catalogue = IndexFolderSource(tmp_path / "catalogue")
    return SimpleNamespace(tablet=tablet)


def _lead(**kw: Any) -> Any:
    fields = {"product": "大额存单", "product_code": "large_cd", "talking_points": ("利率高",)}
    return SimpleNamespace(**(fields | kw))


def test_a_leads_product_is_found_by_its_line_without_hub_products(tmp_path: Path) -> None:
    build_catalogue_folder(tmp_path / "catalogue", products=80, articles=5)
    view = _view(tmp_path)
    assert isinstance(source_of(view), IndexFolderSource)
    risk = SimpleNamespace(to_wire=lambda: {"level": "C3", "expires": "2099-01-01"})
    brief = SimpleNamespace(visit_id="v1", risk_assessment=risk)
    context = catalogue_nav.lead_context(view, brief, _lead())
    assert context.codes, "大额存单 found by name"
    search = source_of(view).search()
    assert search is not None
    assert all("大额存单" in (search.product(c) or {}).get("name_zh", "") for c in context.codes)
    context = catalogue_nav.lead_context(
        view, brief, _lead(product="信用卡分期", product_code="instalment")
    )
    assert context.codes
    assert {(search.product(c) or {}).get("category") for c in context.codes} == {"card"}
    assert context.assessment == {"level": "C3", "expires": "2099-01-01"}
    fund = _lead(product="基金定投", product_code="fund_sip")
    context = catalogue_nav.lead_context(
        view, SimpleNamespace(visit_id="v2", risk_assessment=risk), fund
    )
    may_buy = [(search.product(c) or {}).get("risk", "R9") <= "R3" for c in context.codes]
    assert may_buy == sorted(may_buy, reverse=True), "products a C3 customer may buy come first"


def test_the_hubs_lead_products_come_suitable_first(tmp_path: Path) -> None:
    view = _view(tmp_path)
    products = (
        SimpleNamespace(code="A", suitability="risk_too_high"),
        SimpleNamespace(code="B", suitability="suitable"),
    )
    brief = SimpleNamespace(visit_id="v1", risk_assessment=None)
    context = catalogue_nav.lead_context(view, brief, _lead(products=products))
    assert (context.codes, context.current) == (["B", "A"], "B")
    assert context.verdicts == {"A": "risk_too_high", "B": "suitable"}


def test_back_returns_where_the_catalogue_was_opened(tmp_path: Path) -> None:
    view = _view(tmp_path)
    catalogue_nav.open_catalogue(view)
    catalogue_nav.open_article(view, SimpleNamespace(article_id="a1"))
    assert view.tablet.screen == "article"
    catalogue_nav.back(view)
    assert view.tablet.screen == "catalogue"
    catalogue_nav.back(view)
    assert view.tablet.screen == "advisor"
    catalogue_nav.back(view)  # nothing left: the role's own screen
    assert view.tablet.screen == "advisor"
