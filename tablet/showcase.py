"""Comparing products and presenting them to the customer: what is shown, how staff leave, records.

`Showcase` belongs to the `Tablet` (the `TabletView`'s `open_compare` and `open_presentation` land
here, and every view of the tablet draws the same comparison). It
remembers the screen each came from, the products on show, and the answers of the PIN check; it
records "compared" and "presented" views with the hub through
`record_product_view`, and asks the hub to check the staff member's PIN (`hub_pin_check`) to
leave the presentation. Nothing here keeps customer data: product codes and a return screen.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from branch_hub.client import HubClient, HubRefused, HubUnavailable, StaffSessionEnded
from branch_hub.client.models import ProductViewRequest
from branch_hub.vocabulary import ProductViewMode
from tablet.i18n import N_, Said, either, said
from tablet.product_facts import ProductSource, SearchSource

__all__ = [
    "EXIT_GESTURE",
    "EXIT_PIN",
    "MAX_COMPARED",
    "PinCheckUnavailable",
    "Showcase",
    "hub_pin_check",
]

MAX_COMPARED = 3
EXIT_PIN, EXIT_GESTURE = "pin", "gesture"  # settings.json "presentation_exit"


class PinCheckUnavailable(Exception):
    """The hub client has no PIN check yet: the PIN cannot be verified."""


def hub_pin_check(client: HubClient, token: str, pin: str) -> None:
    """Ask the hub whether `pin` is the signed-in staff member's (POST /session/pin-check).

    Raises the client's refusal (wrong PIN, lockout); the hub counts wrong PINs with the login
    lockouts. PinCheckUnavailable is for a check that has no hub to ask (tests, a future mode).
    """
    client.check_pin(token, pin)


def hide_offer(offer: Any) -> None:
    """Take the hand-off banner off the frame; it is drawn again after the presentation."""
    offer._shown = None  # so its next `show` draws it again
    offer.clear_widgets()
    offer.buttons = {}
    offer.text, offer.height, offer.opacity = "", 0, 0


class _TabletSearch:
    """The tablet's catalogue as the compare and presentation screens read it."""

    def __init__(self, tablet: Any) -> None:
        self.tablet = tablet

    def product(self, code: str) -> Mapping[str, Any] | None:
        """The product's record from the copy in use, None without one."""
        search = self.tablet.catalogue.search()
        return search.product(code) if search is not None else None


class Showcase:
    """The comparison and the presentation of one tablet."""

    def __init__(self, tablet: Any) -> None:
        self.tablet = tablet
        self.products: ProductSource | None = None  # None: the tablet's own catalogue copy
        self.compared: list[str] = []
        self.presented: list[str] = []
        self.compare_back = ""
        self.present_back = ""
        self.pin_answers: deque[Said | str | None] = deque(maxlen=8)  # None: the PIN was right
        self.pin_check: Callable[[HubClient, str, str], None] = hub_pin_check

    def records(self, codes: list[str]) -> list[Mapping[str, Any]]:
        """The catalogue records of `codes` that the source holds, in order."""
        source = self.products or SearchSource(
            _TabletSearch(self.tablet), self.tablet.catalogue.image
        )
        found = [source.product(code) for code in codes]
        return [record for record in found if record is not None]

    def picture(self, name: str | None) -> bytes | None:
        """A product picture's bytes from the catalogue in use (None without one)."""
        if not name:
            return None
        source = self.products or self.tablet.catalogue
        return source.image(name)

    def exit_mode(self) -> str:
        """How staff leave the presentation: the PIN (default) or the staff gesture."""
        mode = self.tablet.store.settings().get("presentation_exit")
        return EXIT_GESTURE if mode == EXIT_GESTURE else EXIT_PIN

    def _say(self, message: str, **fields: Any) -> None:
        self.tablet.message = said(message, **fields)
        self.tablet.state.touch()

    def _go(self, name: str) -> None:
        self.tablet.activity()
        self.tablet.screen = name
        self.tablet.state.touch()

    # -- compare ------------------------------------------------------------------------------
    def open_compare(self, codes: list[str]) -> bool:
        """Show up to three products side by side; more are refused with a line, nothing moves."""
        wanted = list(dict.fromkeys(c for c in codes if c))
        if len(wanted) > MAX_COMPARED:
            self._say(N_("At most three products can be compared at a time; remove one first"))
            return False
        if not wanted:
            self._say(N_("Choose a product to compare"))
            return False
        if self.tablet.screen != "compare":
            self.compare_back = self.tablet.screen
        added = [c for c in wanted if c not in self.compared]
        self.compared = wanted
        self.record("compared", added)
        self.tablet.message = ""
        self._go("compare")
        return True

    def remove(self, code: str) -> None:
        """Take a product out of the comparison; with none left, go back."""
        self.compared = [c for c in self.compared if c != code]
        if not self.compared:
            self.leave_compare()
        else:
            self.tablet.state.touch()

    def leave_compare(self) -> None:
        """Back to the screen the comparison was opened from."""
        self.compared = []
        self._go(self.compare_back or "login")

    # -- present ------------------------------------------------------------------------------
    def open_presentation(self, codes: list[str]) -> bool:
        """Turn the tablet toward the customer: these products, nothing of the staff screens."""
        wanted = list(dict.fromkeys(c for c in codes if c))[:MAX_COMPARED]
        if not self.records(wanted):
            self._say(N_("This product is not in the tablet's catalogue"))
            return False
        if self.tablet.screen != "present":
            self.present_back = self.tablet.screen
        self.presented = wanted
        self.pin_answers.clear()
        self.record("presented", wanted)
        self._go("present")
        return True

    def leave_presentation(self) -> None:
        """Staff proved who they are: back to where they were, with what arrived meanwhile."""
        self.presented = []
        self.pin_answers.clear()
        self._go(self.present_back or "login")

    def check_pin(self, pin: str) -> None:
        """Have the hub check the PIN; its answer lands in `pin_answers` (None when right)."""
        session = self.tablet.state.session
        if session is None:
            return
        answers, check, tablet = self.pin_answers, self.pin_check, self.tablet

        def job() -> None:
            try:
                check(tablet._client(), session.token, pin)
            except PinCheckUnavailable:
                answers.append(said(N_("This hub cannot check a PIN yet; use the staff gesture")))
                return
            except HubRefused as exc:
                if isinstance(exc, StaffSessionEnded) or exc.status == 401:
                    raise  # the session is over: the tablet logs out
                answers.append(either(exc.message, exc.message_zh))
                return
            except HubUnavailable:
                answers.append(said(N_("Cannot reach the branch hub to check the PIN; try again")))
                return
            answers.append(None)

        tablet.submit("pin_check", job)

    # -- records ------------------------------------------------------------------------------
    def record(self, mode: str, codes: list[str]) -> None:
        """Record with the hub that products were compared or presented (for the visit open)."""
        if not codes:
            return
        brief = self.tablet.state.brief
        visit_id = brief.visit_id if brief is not None else None
        view_mode = ProductViewMode(mode)
        for code in codes:
            self.tablet._command(
                "product_view",
                lambda code=code: ProductViewRequest(
                    product_code=code, mode=view_mode, visit_id=visit_id
                ),
                lambda client, request: client.record_product_view(request),
            )
