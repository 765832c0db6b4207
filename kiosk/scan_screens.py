"""What the camera's screens say: looking for a code, and a ticket identified with its customer.

The upgraded screen shows the number, service and wait, never the class or tier it moved to
(docs/kiosk.md, "What is never on screen").
"""

from __future__ import annotations

from kiosk.flow_state import Phase, State
from kiosk.i18n import N_, both, say
from kiosk.scan_flow import APPOINTMENT
from kiosk.screens import ButtonModel, ScreenModel, text, ticket_lines

__all__ = ["SCAN_BUTTONS", "scanning", "upgraded"]

SCAN_BUTTONS: dict[str, str] = {
    "scan": N_("Scan your appointment code"),
    "have_ticket": N_("I already have a ticket"),
}
SCAN_TEXTS: dict[str, str] = {
    "hold": N_("Hold the QR code up to the camera"),
    APPOINTMENT: N_("The appointment code from your text message"),
    "ticket": N_("The QR code printed on your ticket"),
    "checking": N_("Checking the code…"),
}
# The hub's refusals as the customer reads them (any other: the generic one).
REFUSALS: dict[str, str] = {
    "unknown_code": N_("This is not a valid appointment code for today"),
    "too_many_codes": N_("Too many codes; please wait a minute or ask the lobby manager"),
    "not_a_ticket": N_("This is not a ticket of this branch today"),
    "ticket_not_waiting": N_("This ticket has already been called or finished"),
    "already_identified": N_("This ticket belongs to another customer"),
    "session_expired": N_("Please read your card again"),
    "error": N_("The code could not be checked; please ask the lobby manager"),
}
UPGRADED: dict[str, str] = {
    "upgraded": N_("Your number {number} has been upgraded for you"),
    "identified": N_("Your number {number} is now registered to you"),
    "already_yours": N_("Number {number} is already yours"),
}


def scanning(state: State, lang: str, header: str, lang_button: ButtonModel) -> ScreenModel:
    """The camera screen: what to show it, a refusal if the last code was one, and Back."""
    purpose = SCAN_TEXTS[APPOINTMENT if state.scan_for == APPOINTMENT else "ticket"]
    notice = ""
    if state.scan_refusal is not None:
        notice = say(REFUSALS.get(state.scan_refusal, REFUSALS["error"]), lang)
    return ScreenModel(
        Phase.SCANNING,
        lang,
        header,
        both(SCAN_TEXTS["hold"]),
        subtitle=say(SCAN_TEXTS["checking"] if state.scan_busy else purpose, lang),
        notice=notice,
        buttons=(ButtonModel("cancel", text("cancel", lang), kind="secondary"),),
        lang_button=lang_button,
    )


def upgraded(state: State, lang: str, header: str, lang_button: ButtonModel) -> ScreenModel:
    """The identified ticket: its number again, its service and wait, and Done."""
    t = state.ticket
    number = t.number if t is not None else ""
    words = UPGRADED.get(state.upgrade or "", UPGRADED["identified"])
    return ScreenModel(
        Phase.UPGRADED,
        lang,
        header,
        say(words, lang).format(number=number),
        lines=ticket_lines(t, lang)[:2] if t is not None else (),
        big_number=number,
        buttons=(ButtonModel("done", text("done", lang), kind="secondary"),),
        lang_button=lang_button,
    )
