"""Moving between the work screens and the catalogue's, what a product screen was opened for,
and the "viewed" record sent to the hub.

The catalogue, product and article screens keep a stack of where staff came from on the tablet,
so "back" returns to the customer list (or the search) they left. A product opened from a lead
carries the lead's talking points, its products and the customer's risk assessment
(`ProductContext`); nothing of it outlives the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from branch_hub.client.models import ProductViewRequest
from branch_hub.vocabulary import ProductViewMode
from tablet.catalogue_source import source_of
from tablet.catalogue_words import LINE_CATEGORIES, flag_for
from tablet.state import screen_for

__all__ = [
    "CATALOGUE_SCREENS",
    "ProductContext",
    "back",
    "go",
    "lead_context",
    "open_article",
    "open_catalogue",
    "open_lead_product",
    "open_product",
    "record_view",
]

CATALOGUE_SCREENS = ("catalogue", "product", "article")


@dataclass
class ProductContext:
    """What the product screen shows: the products (tabs), the one on show, and the lead's side."""

    codes: list[str]
    current: str
    lead_title: str = ""
    talking_points: tuple[str, ...] = ()
    verdicts: dict[str, str] = field(default_factory=dict)  # the hub's suitability by code
    assessment: dict[str, Any] | None = None  # the customer's risk assessment (no lead: None)
    visit_id: str | None = None
    from_lead: bool = False


def _stack(view: Any) -> list[str]:
    stack: list[str] | None = getattr(view.tablet, "catalogue_stack", None)
    if stack is None:
        stack = view.tablet.catalogue_stack = []
    return stack


def go(view: Any, name: str) -> None:
    """Open a catalogue screen, remembering the screen left (once per screen)."""
    tablet = view.tablet
    tablet.activity()
    here = tablet.screen
    if here != name:
        stack = _stack(view)
        if here not in CATALOGUE_SCREENS:
            stack.clear()  # leaving a work screen: a fresh trail (none left from a session before)
            tablet.catalogue_search = None  # and an empty search box
        stack.append(here)
        tablet.screen = name
    tablet.state.touch()


def back(view: Any) -> None:
    """Back to where the catalogue was opened from (the role's screen when that is unknown)."""
    tablet = view.tablet
    tablet.activity()
    stack = _stack(view)
    session = tablet.state.session
    target = stack.pop() if stack else (screen_for(session.role) if session else "login")
    if target in CATALOGUE_SCREENS and target == tablet.screen:
        target = screen_for(session.role) if session else "login"
    tablet.screen = target
    tablet.state.touch()


def open_catalogue(view: Any) -> None:
    """The catalogue's search, from any work screen's header."""
    if view.tablet.screen != "catalogue":
        go(view, "catalogue")


def open_product(view: Any, code: str) -> None:
    """A product found in the search (no customer beside it)."""
    view.tablet.product_context = ProductContext([code], code)
    go(view, "product")
    record_view(view, code, None)


def open_article(view: Any, hit: Any) -> None:
    """An article of the knowledge base (`hit`: the ArticleHit a list showed)."""
    view.tablet.article = hit
    go(view, "article")


def _lead_codes(view: Any, lead: Any) -> tuple[list[str], dict[str, str]]:
    """The lead's catalogue products (suitable first); a search by its product line without."""
    products = list(getattr(lead, "products", ()) or ())
    if products:
        verdicts = {p.code: str(getattr(p, "suitability", "")) for p in products}
        codes = [p.code for p in products]
        codes.sort(key=lambda c: verdicts[c] != "suitable")
        return codes, verdicts
    search = source_of(view).search()
    if search is None:
        return [], {}
    hits = search.products(lead.product, date.today(), limit=3)
    if not hits:
        category = LINE_CATEGORIES.get(lead.product_code)
        hits = search.products("", date.today(), (category,), limit=3) if category else []
    return [h.code for h in hits], {}


def lead_context(view: Any, brief: Any, lead: Any) -> ProductContext:
    """The product screen's context for a lead of the brief on show."""
    codes, verdicts = _lead_codes(view, lead)
    risk = getattr(brief, "risk_assessment", None)
    assessment = risk.to_wire() if risk is not None else None
    search = source_of(view).search() if codes and not verdicts else None
    if search is not None:  # no verdict from the hub: the shared rule puts suitable ones first
        records = {code: search.product(code) or {} for code in codes}
        codes.sort(
            key=lambda c: flag_for(records[c], None, assessment, date.today()).code != "suitable"
        )
    return ProductContext(
        codes,
        codes[0] if codes else "",
        lead_title=lead.product,
        talking_points=tuple(lead.talking_points),
        verdicts=verdicts,
        assessment=assessment,
        visit_id=brief.visit_id,
        from_lead=True,
    )


def open_lead_product(view: Any, brief: Any, lead: Any) -> None:
    """One tap on a lead's product: its product screen, the lead beside it; "viewed" recorded."""
    context = lead_context(view, brief, lead)
    view.tablet.product_context = context
    go(view, "product")
    if context.current:
        record_view(view, context.current, context.visit_id)


def record_view(view: Any, code: str, visit_id: str | None, mode: str = "viewed") -> None:
    """Tell the hub a product was viewed (sent on the app's loop; staff signed in only)."""
    tablet = view.tablet
    if tablet.state.session is None:
        return
    view_mode = ProductViewMode(mode)

    def build() -> ProductViewRequest:
        return ProductViewRequest(product_code=code, mode=view_mode, visit_id=visit_id)

    tablet._acommand("product_view", build, lambda c, r: c.record_product_view(r))
