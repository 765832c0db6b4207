"""The product screen: one catalogue product, its disclaimer always on show, and the lead beside it.

Opened from a lead, the lead's talking points sit beside the product (landscape) or above it
(portrait) and the suitability flag says whether the product may be offered to this customer
(the hub's verdict for the lead's products, else the shared rule on the brief's assessment).
Several products of one lead are tabs. The picture comes from the catalogue source; a missing or
undecodable one shows a placeholder. "Compare" and "present" call the view's `open_compare` and
`open_presentation` when the view has them, and are hidden otherwise.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from datetime import date
from functools import partial
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from tablet import catalogue_nav, theme
from tablet.catalogue_source import source_of
from tablet.catalogue_words import (
    Flag,
    amount_text,
    category_name,
    flag_for,
    risk_name,
    term_text,
    valid_text,
    yield_text,
)
from tablet.i18n import _, language
from tablet.screens import TabletScreen

__all__ = ["ProductScreen", "picture"]

PICTURE_H = 160  # dp


def picture(data: bytes | None, name: str) -> Widget:
    """The product's picture, or a placeholder when it is missing or cannot be decoded."""
    if data:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else "png"
        try:
            texture = CoreImage(io.BytesIO(data), ext=ext).texture
        except Exception:
            texture = None
        if texture is not None:
            return Image(
                texture=texture, size_hint_y=None, height=dp(PICTURE_H), fit_mode="contain"
            )
    return Factory.PicturePlaceholder(text=_("No picture"))


_POOLED = ("BodyText", "Caption", "Heading")


class _Lines:
    """Text lines reused between products: building a label from its kv rule costs most of a
    product screen's build, setting the text of one already built a fraction of it."""

    def __init__(self) -> None:
        self.spare: dict[str, list[Widget]] = {kind: [] for kind in _POOLED}

    def clear(self, box: Widget) -> None:
        """Empty `box`, keeping its text lines for the next product."""
        for child in list(box.children):
            box.remove_widget(child)
            kind = type(child).__name__
            if kind in self.spare:
                child.text = ""  # a talking point stays in no spare line
                self.spare[kind].append(child)

    def add(self, box: Widget, kind: str, text: str) -> Widget:
        """A line of `kind` showing `text` at the end of `box`."""
        spare = self.spare.get(kind)
        widget = spare.pop() if spare else getattr(Factory, kind)()
        widget.text = text
        box.add_widget(widget)
        return widget


class ProductScreen(TabletScreen):
    """One product in full; the lead's side when opened from a lead."""

    title_text = StringProperty("")
    risk_text = StringProperty("")
    risk_fill = ListProperty(list(theme.MUTED))
    flag_text = StringProperty("")
    flag_ink = ListProperty(list(theme.INK))
    flag_fill = ListProperty(list(theme.SURFACE))
    disclaimer_text = StringProperty("")
    lead_on = BooleanProperty(False)
    tabs_on = BooleanProperty(False)
    can_compare = BooleanProperty(False)
    can_present = BooleanProperty(False)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.extra: dict[str, Button] = {}  # tabs and related articles, by what they open
        self.drawn: tuple[Any, ...] | None = None
        self.drawn_at = 0.0  # perf_counter when the content was last built (the bench reads it)
        self.tab_buttons: dict[str, Button] = {}
        self.lines = _Lines()  # kept while the lead's products stay the same

    def buttons(self) -> dict[str, Button]:
        """The fixed buttons and the tabs and articles drawn for this product."""
        return {**super().buttons(), **self.extra}

    def on_pre_enter(self, *_: Any) -> None:
        """Draw the product asked for."""
        self.drawn = None
        self.refresh()

    def on_leave(self, *_: Any) -> None:
        """Forget the lead's words on screen (customer data) once another screen shows; leaving
        the catalogue's screens (back to work, a logout) forgets the lead altogether."""
        self.lines.clear(self.ids.lead_body)
        self.drawn = None
        if self.view.tablet.screen not in catalogue_nav.CATALOGUE_SCREENS:
            self.view.tablet.product_context = None

    def refresh(self) -> None:
        """Draw again only when the product, its context or the language changed."""
        context = getattr(self.view.tablet, "product_context", None)
        key = (id(context), context.current if context else "", language())
        if key == self.drawn:
            return
        self.drawn = key
        self._draw(context)
        self.drawn_at = time.perf_counter()

    def _draw(self, context: catalogue_nav.ProductContext | None) -> None:
        ids = self.ids
        self.lines.clear(ids.body)
        self.lines.clear(ids.lead_body)
        self.extra = {}
        self.can_compare = hasattr(self.view, "open_compare")
        self.can_present = hasattr(self.view, "open_presentation")
        search = source_of(self.view).search()
        record = search.product(context.current) if search and context and context.current else None
        self._lead(context)
        self._tabs(context, search)
        if record is None:
            self._missing(context, search is None)
            return
        self.title_text = str(record.get("name_zh") or record.get("code"))
        if language() == "en" and record.get("name_en"):
            self.title_text = str(record["name_en"])
        self.risk_text = risk_name(str(record.get("risk", "")))
        self.risk_fill = list(theme.risk_colour(str(record.get("risk", ""))))
        self.disclaimer_text = str(record.get("disclaimer_zh") or "") or _(
            "Read the product's documents for its risks before buying"
        )
        self._flag(context, record)
        self._facts(record)
        self._related(search, str(record["code"]))
        ids.scroll.scroll_y = 1

    def _missing(self, context: catalogue_nav.ProductContext | None, no_catalogue: bool) -> None:
        self.title_text = (context.lead_title if context else "") or _("Product")
        self.risk_text, self.risk_fill = "", list(theme.MUTED)
        self.flag_text = ""
        if context is not None and context.from_lead and not no_catalogue:
            flag = Flag("not_in_catalogue")
            self.flag_text, (ink, fill) = flag.text, flag.colours
            self.flag_ink, self.flag_fill = list(ink), list(fill)
        self.disclaimer_text = _("Read the product's documents for its risks before buying")
        why = _("This product is not in the catalogue on sale today")
        if no_catalogue:
            why = _("This tablet has no product catalogue yet")
        self.lines.add(self.ids.body, "BodyText", why)

    def _flag(
        self, context: catalogue_nav.ProductContext | None, record: Mapping[str, Any]
    ) -> None:
        if context is None or not context.from_lead:
            self.flag_text = ""
            return
        given = context.verdicts.get(context.current)
        flag = flag_for(record, given, context.assessment, date.today())
        self.flag_text = flag.text
        ink, fill = flag.colours
        self.flag_ink, self.flag_fill = list(ink), list(fill)

    def _facts(self, record: Mapping[str, Any]) -> None:
        body = self.ids.body
        image = record.get("image")
        data = source_of(self.view).image(str(image)) if image else None
        body.add_widget(picture(data, str(image or "")))
        basis = record.get("yield_basis_zh") or ""
        facts = (
            (_("Category"), category_name(str(record.get("category", "")))),
            (_("Risk level"), risk_name(str(record.get("risk", "")))),
            (_("Term"), term_text(record.get("term_days"))),
            (_("Yield"), yield_text(record.get("yield_pct"), basis, record.get("yield_kind"))),
            (_("Minimum"), amount_text(record.get("min_amount_yuan"))),
            (_("Product code"), str(record.get("code", ""))),
        )
        for label, value in facts:
            if value:
                self.lines.add(
                    body, "BodyText", _("{label}: {value}").format(label=label, value=value)
                )
        window = valid_text(str(record.get("valid_from", "")), str(record.get("valid_to", "")))
        if window:
            self.lines.add(body, "Caption", window)
        points = record.get("selling_points_zh") or []
        if points:
            self.lines.add(body, "Heading", _("Selling points"))
            for point in points:
                self.lines.add(body, "BodyText", f"·  {point}")

    def _related(self, search: Any, code: str) -> None:
        related = search.articles("", product_code=code, limit=5)
        if not related:
            return
        self.lines.add(self.ids.body, "Heading", _("Related articles"))
        for hit in related:
            self._button(self.ids.body, f"article:{hit.article_id}", hit.title_zh,
                         partial(catalogue_nav.open_article, self.view, hit))  # fmt: skip

    def _lead(self, context: catalogue_nav.ProductContext | None) -> None:
        self.lead_on = bool(context and context.from_lead)
        if context is None or not context.from_lead:
            return
        box = self.ids.lead_body
        self.lines.add(box, "Heading", _("Lead: {product}").format(product=context.lead_title))
        for point in context.talking_points:
            self.lines.add(box, "BodyText", f"·  {point}")

    def _tabs(self, context: catalogue_nav.ProductContext | None, search: Any) -> None:
        """One tab per product of the lead; the same lead again reuses its tabs (building a
        button from its kv rule costs milliseconds, most of a product screen's build)."""
        codes = context.codes if context is not None and search is not None else []
        self.tabs_on = len(codes) > 1
        if not self.tabs_on or context is None:
            self.ids.tabs.clear_widgets()
            self.tab_buttons = {}
            return
        if list(self.tab_buttons) != codes:
            self.ids.tabs.clear_widgets()
            self.tab_buttons = {}
            for code in codes:
                record = search.product(code)
                title = str(record.get("name_zh") or code) if record else code
                self.tab_buttons[code] = self._button(self.ids.tabs, f"product_tab:{code}", title,
                                                      partial(self.show_product, code))  # fmt: skip
        for code, button in self.tab_buttons.items():
            button.on = code == context.current
            self.extra[f"product_tab:{code}"] = button

    def _button(self, box: Widget, key: str, title: str, press: Callable[[], None]) -> Button:
        kind = "TabButton" if key.startswith("product_tab:") else "QuietButton"
        button = getattr(Factory, kind)(text=title, halign="center", shorten=True)
        button.bind(size=lambda b, size: setattr(b, "text_size", (size[0] - dp(12), None)))
        button.bind(on_release=lambda *_: press())
        self.extra[key] = button
        box.add_widget(button)
        return button

    def show_product(self, code: str) -> None:
        """Another product of the lead (a tab): shown, and recorded as viewed."""
        context = getattr(self.view.tablet, "product_context", None)
        if context is None or code == context.current:
            return
        context.current = code
        self.refresh()
        catalogue_nav.record_view(self.view, code, context.visit_id)

    def compare(self) -> None:
        """Add the lead's products (or this one) to a comparison."""
        context = getattr(self.view.tablet, "product_context", None)
        if context is not None and hasattr(self.view, "open_compare"):
            self.view.open_compare(list(context.codes) or [context.current])

    def present(self) -> None:
        """Show this product to the customer."""
        context = getattr(self.view.tablet, "product_context", None)
        if context is not None and context.current and hasattr(self.view, "open_presentation"):
            self.view.open_presentation(context.current)

    def go_back(self) -> None:
        """Back to the lead's brief or the search."""
        catalogue_nav.back(self.view)
