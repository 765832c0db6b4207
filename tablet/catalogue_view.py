"""The catalogue's search screen (products and the knowledge base) and the article screen.

Typing searches as staff type: keystrokes within SEARCH_DELAY_S are one search (a Kivy trigger),
and the search runs on a worker thread (a broad word over a full catalogue takes longer than a
frame), its rows handed back to the UI thread; an answer overtaken by a newer search is dropped.
Rows are drawn by RecycleViews (tablet/kv/catalogue.kv), so a long result list stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from tablet import catalogue_nav, theme
from tablet.catalogue_source import CatalogueSource, source_of
from tablet.catalogue_words import (
    CATEGORIES,
    RISKS,
    amount_text,
    article_kind,
    category_name,
    risk_name,
    term_text,
    yield_text,
)
from tablet.i18n import _, language
from tablet.screens import TabletScreen

__all__ = ["ArticleRow", "ArticleScreen", "CatalogueScreen", "ProductRow"]

SEARCH_DELAY_S = 0.15  # keystrokes closer than this are one search
RESULTS = 50
_pool: list[ThreadPoolExecutor] = []


def _worker() -> ThreadPoolExecutor:
    """One thread for searches: they queue, and the UI thread never waits on SQLite."""
    if not _pool:
        _pool.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue-search"))
    return _pool[0]


class ProductRow(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """One product found: name, what it is, its risk badge; a tap opens it."""

    code = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    risk = StringProperty("")
    fill = ListProperty(list(theme.MUTED))
    pick = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        """Open this product."""
        if self.pick is not None and self.code:
            self.pick(self.code)


class ArticleRow(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """One article found: title, kind and date; a tap opens it."""

    code = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    pick = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        """Open this article."""
        if self.pick is not None and self.code:
            self.pick(self.code)


def _product_rows(hits: list[Any], pick: Callable[[str], None]) -> list[dict[str, Any]]:
    english = language() == "en"
    rows = []
    for hit in hits:
        parts = [category_name(hit.category), term_text(hit.term_days)]
        # A search hit carries no yield kind; a fund's figure is its unit value (docs/catalogue.md).
        kind = "nav" if hit.category == "fund" else "rate"
        parts += [yield_text(hit.yield_pct, "", kind), amount_text(hit.min_amount_yuan)]
        rows.append(
            {
                "code": hit.code,
                "title": (hit.name_en or hit.name_zh) if english else hit.name_zh,
                "detail": "  ·  ".join(p for p in parts if p),
                "risk": risk_name(hit.risk),
                "fill": list(theme.risk_colour(hit.risk)),
                "pick": pick,
            }
        )
    return rows


def _article_rows(hits: list[Any], pick: Callable[[str], None]) -> list[dict[str, Any]]:
    return [
        {
            "code": hit.article_id,
            "title": hit.title_zh,
            "detail": "  ·  ".join(p for p in (article_kind(hit.kind), hit.updated) if p),
            "pick": pick,
        }
        for hit in hits
    ]


def _run(
    source: CatalogueSource, query: str, categories: tuple[str, ...], risk: str | None, arts: bool
) -> list[Any] | None:
    """The search itself (on the worker thread): None when the tablet holds no catalogue."""
    search = source.search()
    if search is None:
        return None
    if arts:
        return search.articles(query, limit=RESULTS)
    return search.products(query, date.today(), categories, risk, limit=RESULTS)


def _chosen(spinner: Any) -> int:
    """The place of a filter's choice in its list (0, "all", before one is made)."""
    return spinner.values.index(spinner.text) if spinner.text in spinner.values else 0


class CatalogueScreen(TabletScreen):
    """Search products and articles in Chinese, filtered by category and the highest risk."""

    articles_on = BooleanProperty(False)
    found_text = StringProperty("")
    product_list = ObjectProperty(None)
    article_list = ObjectProperty(None)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._search_soon = Clock.create_trigger(self.search_now, SEARCH_DELAY_S)
        self.asked = 0  # searches started
        self.pending = False  # a search is due once the typing pauses
        self.found_articles: dict[str, Any] = {}
        self.shown = 0  # the search whose rows are on show
        self._language = ""

    def on_enter(self, *_: Any) -> None:
        """Fill the filters in the language shown, put back the search this catalogue visit
        holds (another view of the same tablet shows the same), and search."""
        self._fill_filters()
        kept = getattr(self.view.tablet, "catalogue_search", None)
        query, category, risk, self.articles_on = kept or ("", 0, 0, False)
        self.ids.query.text = query
        self.ids.category.text = self.ids.category.values[category]
        self.ids.risk.text = self.ids.risk.values[risk]
        self.search_now()

    @property
    def settled(self) -> bool:
        """True when the rows on show answer the search box and filters as they are."""
        return not self.pending and self.shown == self.asked > 0

    def refresh(self) -> None:
        """After a language switch: the filters' words and the rows again."""
        if self._language != language():
            self._fill_filters()
            self._search_soon()

    def _fill_filters(self) -> None:
        self._language = language()
        for spinner, values in (
            (self.ids.category, [_("All categories"), *map(category_name, CATEGORIES)]),
            (self.ids.risk, [_("Any risk"), *(_("Up to {risk}").format(risk=risk_name(r))
                                               for r in RISKS)]),
        ):  # fmt: skip
            at = spinner.values.index(spinner.text) if spinner.text in spinner.values else 0
            spinner.values = values
            spinner.text = values[at]

    def filters(self) -> tuple[tuple[str, ...], str | None]:
        """The chosen (categories, highest risk)."""
        c, r = _chosen(self.ids.category), _chosen(self.ids.risk)
        categories = (list(CATEGORIES)[c - 1],) if c > 0 else ()
        return categories, list(RISKS)[r - 1] if r > 0 else None

    def query_changed(self) -> None:
        """A key typed or a filter picked: search once the typing pauses."""
        self.view.tablet.activity()
        self.pending = True
        self._search_soon()

    def show_articles(self, on: bool) -> None:
        """Switch between products and the knowledge base."""
        self.articles_on = on
        self.search_now()

    def search_now(self, *_: Any) -> None:
        """Start a search on the worker thread; its rows come back on the UI thread."""
        self._search_soon.cancel()
        self.pending = False
        self.asked += 1
        asked, arts = self.asked, self.articles_on
        categories, risk = self.filters()
        ids = self.ids
        self.view.tablet.catalogue_search = (
            ids.query.text,
            _chosen(ids.category),
            _chosen(ids.risk),
            arts,
        )
        job = _worker().submit(
            _run, source_of(self.view), self.ids.query.text, categories, risk, arts
        )
        job.add_done_callback(lambda done: Clock.schedule_once(lambda _dt: self._show(asked, done)))

    def _show(self, asked: int, done: Future[list[Any] | None]) -> None:
        if asked != self.asked:
            return  # a newer search is on its way
        self.shown = asked
        try:
            hits = done.result()
        except Exception:
            hits = None
            self.found_text = _("The product catalogue cannot be read")
        else:
            self.found_text = self._found(hits)
        products = hits if hits is not None and not self.articles_on else []
        articles = hits if hits is not None and self.articles_on else []
        self.product_list.data = _product_rows(products, self.pick_product)
        self.article_list.data = _article_rows(articles, self.pick_article)
        self.found_articles = {hit.article_id: hit for hit in articles}

    def _found(self, hits: list[Any] | None) -> str:
        if hits is None:
            return _("This tablet has no product catalogue yet")
        if not hits:
            return _("Nothing matches")
        what = _("{n} articles") if self.articles_on else _("{n} products")
        return what.format(n=len(hits))

    def pick_product(self, code: str) -> None:
        """Open a product found."""
        catalogue_nav.open_product(self.view, code)

    def pick_article(self, article_id: str) -> None:
        """Open an article found."""
        hit = self.found_articles.get(article_id)
        if hit is not None:
            catalogue_nav.open_article(self.view, hit)

    def go_back(self) -> None:
        """Back to where the catalogue was opened."""
        catalogue_nav.back(self.view)


class ArticleScreen(TabletScreen):
    """One knowledge-base article: an FAQ, a procedure or a fee rule."""

    title_text = StringProperty("")
    meta_text = StringProperty("")
    body_text = StringProperty("")

    drawn: tuple[str, str] | None = None  # (article, language) on show

    def on_pre_enter(self, *_: Any) -> None:
        """Read the article the view was asked to show."""
        self.drawn = None
        self.refresh()

    def refresh(self) -> None:
        """Show the article (its text is the catalogue's Chinese); read once per article."""
        hit = getattr(self.view.tablet, "article", None)
        article_id = str(getattr(hit, "article_id", ""))
        if self.drawn == (article_id, language()):
            return
        self.drawn = (article_id, language())
        self.title_text = self.meta_text = self.body_text = ""
        search = source_of(self.view).search() if article_id else None
        body = search.article_body(article_id) if search is not None else None
        if hit is None or body is None:
            self.title_text = _("This article is no longer available")
            return
        self.title_text = hit.title_zh
        self.meta_text = "  ·  ".join(p for p in (article_kind(hit.kind), hit.updated) if p)
        self.body_text = body
        self.ids.scroll.scroll_y = 1

    def go_back(self) -> None:
        """Back to the search or the product."""
        catalogue_nav.back(self.view)
