"""A walk-in identifies to the lobby manager: the hub call, its answer, no window.

The identify sheet (tablet/identify_sheet.py) takes the number the customer shows; `identify`
sends it on the app's loop and fetches the brief the customer now has, and `apply_identify`
shows it with a short confirmation. The typed number lives only in the request while it is on
its way: it is dropped when the call ends, never logged, never kept.
"""

from __future__ import annotations

import re
from typing import Any

from branch_hub.client import DASHBOARD_ROLES, AsyncHubClient, HubError
from branch_hub.client.models import IDENTIFY_AT_DESK, Brief, IdentifyRequest, TicketResult
from tablet.i18n import N_, Said, said
from tablet.worker import once_more_async

__all__ = [
    "IDENTIFIERS",
    "IDENTIFYING_ROLES",
    "IDENTIFY_TAGS",
    "Identified",
    "apply_identify",
    "fits",
    "identify",
    "kept",
    "load_desks",
    "may_identify",
    "typed",
]

IDENTIFY_TAGS = frozenset({"identify", "identify_desks"})
IDENTIFYING_ROLES = DASHBOARD_ROLES  # the lobby's managers; the hub lets every queue role
IDENTIFIERS: tuple[tuple[str, str], ...] = (
    ("id_number", N_("ID card number")),
    ("passbook", N_("Passbook number")),
    ("pan", N_("Bank card number")),
)
"""What the customer may show, in the order the sheet offers it."""
_SHAPES = {
    "id_number": re.compile(r"\d{17}[\dX]"),
    "passbook": re.compile(r"\d{6,32}"),
    "pan": re.compile(r"\d{6,32}"),
}
LONGEST = {"id_number": 18, "passbook": 32, "pan": 32}


class Identified(Said):
    """The confirmation on the status line, naming the request the hub confirmed."""

    request_id: str = ""


def typed(by: str, text: str) -> str:
    """What the field may hold: digits, and an ID number's final X (upper case); at most its
    length."""
    allowed = "".join(c for c in text.upper() if c.isdigit() or (c == "X" and by == "id_number"))
    if by == "id_number" and "X" in allowed[:-1]:
        allowed = allowed.replace("X", "")  # only the check character may be X
    return allowed[: LONGEST.get(by, 32)]


def fits(by: str, value: str) -> bool:
    """True when `value` has the shape of the identifier (the hub still decides who it is)."""
    shape = _SHAPES.get(by)
    return shape is not None and shape.fullmatch(value) is not None


def may_identify(tablet: Any, brief: Any) -> str | None:
    """The ticket id to identify when the brief is a waiting walk-in's and I may; else None."""
    session = tablet.state.session
    if brief is None or not brief.walk_in or session is None:
        return None
    if session.role not in IDENTIFYING_ROLES:
        return None
    visit = tablet.state.board.visits.get(brief.visit_id)
    if visit is None or visit.state != "waiting" or not visit.ticket_id:
        return None
    return str(visit.ticket_id)


def identify(
    tablet: Any, visit_id: str, ticket_id: str, by: str, value: str, desk: str | None = None
) -> str:
    """Send the identification on the app's loop; returns its request id (its answer names it).

    With `desk` the hub reads the card at that desk's reader instead of a typed `value`. Raises
    WireError for a value of the wrong shape (nothing is sent).
    """
    if desk is not None:
        held = [IdentifyRequest(IDENTIFY_AT_DESK, station=desk)]
    else:
        held = [IdentifyRequest(by, value)]
    request_id = held[0].request_id
    tablet.activity()

    async def job() -> tuple[str, str, TicketResult, Brief | None]:
        client: AsyncHubClient = tablet._aclient()
        try:
            result = await once_more_async(lambda: client.identify_ticket(ticket_id, held[0]))
        finally:
            held.clear()  # the number goes with the request, answered or refused
        try:
            brief: Brief | None = await client.brief(visit_id)
        except HubError:
            brief = None  # identified all the same: the pushed row shows the customer
        return request_id, visit_id, result, brief

    tablet.submit("identify", job)
    return request_id


def load_desks(tablet: Any, found: list[str]) -> None:
    """Fill `found` (read by the open sheet) with the branch's desks that have an ID reader."""

    async def job() -> None:
        client: AsyncHubClient = tablet._aclient()
        listed = await client.desks()
        found.extend(d.station for d in listed.desks if "id_card" in d.readers)

    tablet.submit("identify_desks", job)


def apply_identify(tablet: Any, tag: str, answer: Any) -> None:
    """Identified: the customer's brief on the card and "A012 identified as ..." on the line."""
    if tag == "identify_desks":
        return  # the sheet reads the desks it asked for
    request_id, visit_id, result, brief = answer
    state = tablet.state
    ticket = result.ticket.number if result.ticket is not None else ""
    if brief is not None and (state.brief is None or state.brief.visit_id == visit_id):
        state.brief = brief
    row = state.board.visits.get(visit_id)
    who = (brief.salutation_zh if brief is not None else None) or (
        row.salutation_zh if row is not None else None
    )
    if who:
        english, fields = N_("{ticket} identified as {who}"), {"ticket": ticket, "who": who}
    else:
        english, fields = N_("{ticket} identified"), {"ticket": ticket}
    words = Identified(said(english, **fields).remake)
    words.request_id = request_id
    tablet.message = words


def kept(tablet: Any) -> bool:
    """True while the status line confirms an identification (the brief fetched again after the
    push keeps it)."""
    return isinstance(tablet.message, Identified)
