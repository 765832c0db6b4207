"""Tablet UI, catalogue: a wealth manager searches 稳健, filters by risk, opens a product with its
disclaimer, reads an article, sees a placeholder for a broken picture, and opens a lead's product
from the brief with the talking points and the suitability flag beside it. Under Xvfb against the
real hub (run by tests/test_tablet_ui.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import tablet_ui_scenarios as scenarios
from tests.support.catalogue_folder import build_catalogue_folder
from tests.tablet_ui_scenarios import (
    ROOT,
    SHOTS,
    Device,
    Rig,
    _visible,
    check_touch_targets,
    press,
    tap_row,
)

harness = scenarios.harness
rig = scenarios.rig
pytestmark = scenarios.pytestmark

FOLDER = ROOT / "catalogue-folder"


@pytest.fixture(scope="module")
def catalogue() -> Any:
    """The synthetic catalogue indexed into the tablets' catalogue folder (one broken picture)."""
    return build_catalogue_folder(FOLDER)


def _use_catalogue(rig: Rig, device: Device) -> None:
    """Wait for the tablet's own copy: HQ's signed catalogue, pulled through the hub's mirror."""
    keeper = device.tablet.catalogue_keeper
    rig.until(lambda: keeper.copy.sequence is not None, "the tablet's verified catalogue copy")
    assert device.tablet.catalogue is keeper


def _use_folder(device: Device, folder: Path = FOLDER) -> None:
    """A local index instead: a broken picture no signed catalogue could carry."""
    from tablet.catalogue_source import IndexFolderSource

    device.tablet.catalogue = IndexFolderSource(folder)


def _screen(device: Device) -> Any:
    return device.view.screen


def _searched(device: Device) -> bool:
    screen = _screen(device)
    return device.view.drawn_screen == "catalogue" and bool(screen.settled)


def _row(listing: Any, code: str) -> Any:
    layout = listing.layout_manager
    return next((r for r in layout.children if getattr(r, "code", "") == code), None)


def _on_screen(widget: Any, view: Any) -> bool:
    _x, y = widget.to_window(*widget.pos)
    return bool(widget.height > 0 and widget.opacity == 1 and y >= 0)


def _open_catalogue(rig: Rig, device: Device) -> None:
    press(rig, device.view, "catalogue")
    rig.until(lambda: _searched(device), "the catalogue listed")


def _viewed(views: Any, code: str) -> bool:
    # The hub's business day, in the branch's time zone (not the test machine's nor UTC: between
    # 16:00 and 24:00 UTC it is already tomorrow in Beijing).
    rows = views.day_counts(views.desk.today())
    return any(row.product_code == code and row.mode == "viewed" for row in rows)


def test_search_filter_and_open_a_product(rig: Rig, catalogue: Any) -> None:
    wealth = rig.device("CAT-W1")
    rig.login("CAT-W1", "w1")
    _use_catalogue(rig, wealth)
    _open_catalogue(rig, wealth)
    screen = _screen(wealth)
    wealth.view.inputs["query"].text = "稳健"
    rig.until(lambda: _searched(wealth) and screen.product_list.data, "results for 稳健")
    names = [row["title"] for row in screen.product_list.data]
    assert any("稳健" in name for name in names), names
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-catalogue.png")

    screen.ids.risk.text = screen.ids.risk.values[2]  # up to R2 中低
    rig.until(lambda: _searched(wealth), "filtered")
    risks = {row["risk"].split()[0] for row in screen.product_list.data}
    assert risks <= {"R1", "R2"}, risks
    wealth.view.inputs["query"].text = ""
    rig.until(lambda: _searched(wealth) and screen.product_list.data, "all up to R2")
    assert {row["risk"].split()[0] for row in screen.product_list.data} <= {"R1", "R2"}
    code = screen.product_list.data[0]["code"]
    rig.until(lambda: _row(screen.product_list, code) is not None, "the row drawn")
    rig.harness.tap(_row(screen.product_list, code))
    rig.until(lambda: wealth.view.drawn_screen == "product", "the product screen")
    product = _screen(wealth)
    record = next(p for p in catalogue.products if p.code == code)
    assert product.title_text == record.name_zh
    assert product.disclaimer_text == record.disclaimer_zh
    rig.harness.frames(3)
    assert _on_screen(product.ids.disclaimer, wealth.view), "the disclaimer is on show"
    assert not product.lead_on, "no customer beside a searched product"
    assert product.ids.compare.opacity == product.ids.present.opacity == 1, "compare, present"
    assert not product.flag_text
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-product.png")
    press(rig, wealth.view, "back")
    rig.until(lambda: wealth.view.drawn_screen == "catalogue", "back to the search")


def test_an_article_opens(rig: Rig, catalogue: Any) -> None:
    wealth = rig.show("CAT-W1")
    screen = _screen(wealth)
    press(rig, wealth.view, "tab_articles")
    rig.until(lambda: _searched(wealth) and screen.article_list.data, "articles listed")
    article_id = screen.article_list.data[0]["code"]
    rig.until(lambda: _row(screen.article_list, article_id) is not None, "the article row")
    rig.harness.tap(_row(screen.article_list, article_id))
    rig.until(lambda: wealth.view.drawn_screen == "article", "the article screen")
    article = next(a for a in catalogue.articles if a.article_id == article_id)
    shown = _screen(wealth)
    assert (shown.title_text, shown.body_text) == (article.title_zh, article.body_zh)
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-article.png")
    press(rig, wealth.view, "back")
    rig.until(lambda: wealth.view.drawn_screen == "catalogue", "back to the search")
    press(rig, wealth.view, "tab_products")
    press(rig, wealth.view, "back")
    rig.until(lambda: wealth.view.drawn_screen == "advisor", "back to the customers")


def test_a_products_related_article_opens(rig: Rig, catalogue: Any) -> None:
    from tablet.catalogue_nav import open_product

    wealth = rig.show("CAT-W1")
    today = datetime.now(UTC).date()
    on_sale = {p.code for p in catalogue.products if p.on_sale(today)}
    article = next(a for a in catalogue.articles if set(a.product_codes) & on_sale)
    open_product(wealth.view, sorted(set(article.product_codes) & on_sale)[0])
    key = f"article:{article.article_id}"
    rig.until(lambda: key in wealth.view.buttons, "the related article's button")
    button = wealth.view.buttons[key]
    _screen(wealth).ids.scroll.scroll_to(button, animate=False)  # the articles close the page
    rig.harness.frames(3)
    rig.harness.tap(button)
    rig.until(lambda: wealth.view.drawn_screen == "article", "the related article")
    assert _screen(wealth).body_text == article.body_zh
    press(rig, wealth.view, "back")
    rig.until(lambda: wealth.view.drawn_screen == "product", "back to the product")
    press(rig, wealth.view, "back")
    rig.until(lambda: wealth.view.drawn_screen == "advisor", "back to the customers")


def test_a_broken_picture_shows_the_placeholder(rig: Rig, catalogue: Any) -> None:
    from tablet.catalogue_nav import open_product

    wealth = rig.show("CAT-W1")
    _use_folder(wealth)
    today = datetime.now(UTC).date()
    broken = next(p for p in catalogue.products if p.image and p.on_sale(today))
    open_product(wealth.view, broken.code)
    rig.until(lambda: wealth.view.drawn_screen == "product", "the product screen")
    body = _screen(wealth).ids.body
    assert any(type(w).__name__ == "PicturePlaceholder" for w in body.children)
    fine = next(p for p in catalogue.products if p.image and p.on_sale(today) and p is not broken)
    open_product(wealth.view, fine.code)
    rig.until(lambda: _screen(wealth).title_text == fine.name_zh, "a product with its picture")
    assert not any(type(w).__name__ == "PicturePlaceholder" for w in body.children)
    assert any(type(w).__name__ == "Image" for w in body.children)
    open_product(wealth.view, broken.code)
    rig.until(lambda: _screen(wealth).title_text == broken.name_zh, "the broken one again")
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-product-placeholder.png")
    while wealth.view.drawn_screen != "advisor":
        press(rig, wealth.view, "back")
        rig.harness.frames(2)
    wealth.tablet.catalogue = wealth.tablet.catalogue_keeper


def _naming_products(rig: Rig) -> dict[str, Any]:
    """A customer with a card whose first lead names catalogue products staff may pitch."""
    from branch_hub.briefs import sort_leads

    def first_names_products(row: dict[str, Any]) -> bool:
        leads = sort_leads(row["leads"], date.today())
        return bool(leads and leads[0].get("product_codes"))

    rows = [r for r in rig.rows if r["cards"] and rig.pitchable(r) and first_names_products(r)]
    return sorted(rows, key=lambda r: r["tier"] not in ("wealth", "private"))[0]


def test_a_leads_product_opens_from_the_brief(rig: Rig, catalogue: Any) -> None:
    wealth = rig.show("CAT-W1")
    lobby = rig.device("CAT-L1")
    rig.login("CAT-L1", "lm1")
    customer = _naming_products(rig)
    number = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]["number"]
    board = lobby.tablet.state.board
    rig.until(lambda: any(v.ticket == number for v in board.visits.values()), "arrival")
    visit_id = next(v.visit_id for v in board.visits.values() if v.ticket == number)
    rig.until(lambda: _visible(lobby.view, visit_id), "the row")
    tap_row(rig, lobby.view, visit_id)
    rig.until(lambda: "handoff_wealth" in lobby.view.buttons, "the brief")
    press(rig, lobby.view, "handoff_wealth")

    rig.show("CAT-W1")
    rig.until(lambda: _visible(wealth.view, visit_id), "handed to the wealth manager")
    tap_row(rig, wealth.view, visit_id)
    rig.until(
        lambda: (
            wealth.tablet.state.brief is not None and wealth.tablet.state.brief.visit_id == visit_id
        ),
        "the brief",
    )
    lead = wealth.tablet.state.brief.leads[0]
    key = f"product:{lead.lead_id}"
    rig.until(lambda: key in wealth.view.buttons, "the lead's product button")
    assert lead.products, "the hub names the lead's catalogue products"
    press(rig, wealth.view, key)
    rig.until(lambda: wealth.view.drawn_screen == "product", "the lead's product")
    product = _screen(wealth)
    assert product.lead_on
    texts = [getattr(w, "text", "") for w in product.ids.lead_body.walk()]
    assert any(lead.talking_points[0] in t for t in texts), "the talking points beside it"
    assert product.flag_text, "the suitability flag for this customer"
    rig.harness.frames(3)
    assert _on_screen(product.ids.flag, wealth.view)
    assert _on_screen(product.ids.disclaimer, wealth.view)
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-lead-product.png")
    context = wealth.tablet.product_context
    hub = rig.hub.hub
    assert hub is not None
    views = hub.views  # the hub recorded who viewed which product for which visit
    rig.until(lambda: _viewed(views, context.current), "the view recorded at the hub")
    assert "present" in wealth.view.buttons
    press(rig, wealth.view, "compare")
    rig.until(lambda: wealth.view.drawn_screen == "compare", "the comparison")
    assert wealth.tablet.showcase.compared == list(context.codes)[:3]
    press(rig, wealth.view, "back")
    rig.until(lambda: wealth.view.drawn_screen == "product", "back to the product")
    press(rig, wealth.view, "back")
    rig.until(lambda: wealth.view.drawn_screen == "advisor", "back to the brief")
    texts = [getattr(w, "text", "") for w in product.walk()]
    assert not any(lead.talking_points[0] in t for t in texts), "the lead's words left the screen"
