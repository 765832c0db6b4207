"""What the tablet says about hand-offs and where a customer is: names and role titles, no ids.

Pure functions (no Kivy): a colleague is named by name and role title from the staff directory,
a place by its Chinese name, and the customer's whereabouts follow the queue (at a counter,
done) before the place a hand-off took them to.
"""

from __future__ import annotations

from collections.abc import Mapping

from branch_hub.client import CustomerLocation
from branch_hub.client.models import StaffMember
from tablet.handoff_state import ArrivalAlert, HandoffOffer, VisitHandover
from tablet.i18n import N_, _
from tablet.state import Arrival
from tablet.words import role_title

__all__ = [
    "LOCATIONS",
    "alert_text",
    "colleague_name",
    "handover_text",
    "location_name",
    "names",
    "offer_text",
    "place_text",
]

LOCATIONS = {
    CustomerLocation.VIP_ROOM: N_("VIP room"),
    CustomerLocation.WEALTH_OFFICE: N_("Wealth office"),
    CustomerLocation.COUNTER_AREA: N_("Counter area"),
    CustomerLocation.WAITING_AREA: N_("Waiting area"),
}
_AT = {
    CustomerLocation.VIP_ROOM: N_("In the VIP room"),
    CustomerLocation.WEALTH_OFFICE: N_("In the wealth office"),
    CustomerLocation.COUNTER_AREA: N_("In the counter area"),
    CustomerLocation.WAITING_AREA: N_("In the waiting area"),
}
Colleagues = Mapping[str, StaffMember]


def location_name(code: str | None) -> str:
    """A place's name (VIP room -> 贵宾室); empty for none."""
    title = LOCATIONS.get(code or "")  # type: ignore[call-overload]
    return _(title) if title else (code or "")


def colleague_name(staff_id: str | None, colleagues: Colleagues) -> str:
    """A colleague as 'name (role title)', or 'a colleague' when the directory lacks them."""
    member = colleagues.get(staff_id or "")
    if member is None:
        return _("A colleague")
    return f"{member.name}（{role_title(member.role)}）"


def names(colleagues: Colleagues) -> dict[str, str]:
    """Each colleague's 'name (role title)' by staff id."""
    return {staff_id: colleague_name(staff_id, colleagues) for staff_id in colleagues}


def place_text(visit: Arrival, handover: VisitHandover | None) -> str:
    """Where the customer is: done, at a counter, where a hand-off took them, or waiting."""
    if visit.state == "done":
        return _("Done")
    if visit.state == "serving" and visit.counter_id:
        return _("At counter {counter}").format(counter=visit.counter_id)
    where = _AT.get(handover.location or "") if handover else None  # type: ignore[call-overload]
    return _(where) if where else _("Waiting")


def handover_text(handover: VisitHandover | None, colleagues: Colleagues) -> str:
    """A row's hand-off: to whom, and whether they accepted."""
    if handover is None:
        return ""
    if handover.accepted_by:
        who = colleague_name(handover.accepted_by, colleagues)
        return _("{who} accepted").format(who=who)
    if handover.to_staff_id:
        who = colleague_name(handover.to_staff_id, colleagues)
    else:
        who = role_title(handover.to_role)
    return _("Handed to {who}").format(who=who)


def offer_text(
    offer: HandoffOffer, colleagues: Colleagues, visit: Arrival | None, note: str | None
) -> str:
    """The receiver's banner: who hands which customer over, where they are, the note."""
    customer = ""
    if visit is not None:
        customer = f"{visit.salutation_zh or _('Walk-in')} {visit.ticket}"
    line = _("{who} hands {customer} to you").format(
        who=colleague_name(offer.by, colleagues), customer=customer
    )
    if offer.location:
        line += "  ·  " + _("escorted to the {place}").format(place=location_name(offer.location))
    if note:
        line += "  ·  " + _("Note: {note}").format(note=note)
    return line


def alert_text(alert: ArrivalAlert) -> str:
    """The relationship manager's banner: one of their customers has arrived."""
    who = alert.salutation_zh or _("Your customer")
    return _("Your customer {who} has arrived, ticket {ticket}").format(
        who=who, ticket=alert.ticket
    )
