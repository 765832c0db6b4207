"""The day's appointments for the lobby and branch managers: time, service, status, ticket.

Opened from the lobby board; fetched afresh on every opening (tablet/booking.py) and drawn as a
table by tablet/kv/appointments.kv. The hub sends no customer names or ids, nor does this show any.
"""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import StringProperty

from branch_hub.client.models import AppointmentItem, AppointmentList
from branch_hub.vocabulary import AppointmentStatus
from tablet import screens, theme, words
from tablet.board_view import open_screen
from tablet.booking import load_day, service_label, status_text
from tablet.i18n import _, language
from tablet.screens import TabletScreen

__all__ = ["AppointmentsScreen", "appointment_row", "headings", "open_list"]

screens.KV_FILES += ("appointments",)


def open_list(tablet: Any) -> None:
    """Show today's appointments, fetched afresh (the screen fetches what the tablet lacks)."""
    tablet.bookings.day = None
    open_screen(tablet, "appointments")


def headings() -> list[str]:
    """The table's column titles in the language shown."""
    return [_("Time"), _("Service"), _("Received by"), _("Status"), _("Ticket")]


def appointment_row(item: AppointmentItem) -> list[str]:
    """One appointment as the table shows it (no customer: the hub sends none)."""
    who = words.role_title(item.advisor_role) if item.advisor_role else "—"
    if item.for_me:
        who = _("{role} (me)").format(role=who)
    return [
        f"{item.time}–{item.window_end}",
        service_label(item.service, item.service_zh, item.service_en),
        who,
        status_text(item),
        item.ticket or "—",
    ]


class AppointmentsScreen(TabletScreen):
    """Today's appointments, by time, refreshed each time the screen opens."""

    heading = StringProperty("")
    notice = StringProperty("")
    _drawn: tuple[int, str] | None = None

    def on_enter(self, *_: Any) -> None:
        """Fetch today's list unless the tablet holds it (a second view of the same list)."""
        tablet = self.view.tablet
        if tablet.bookings.day is None:
            load_day(tablet)
        self.refresh()

    def go_board(self) -> None:
        """Back to the lobby board."""
        open_screen(self.view.tablet, "board")

    def refresh(self) -> None:
        """Draw the list the tablet holds (or why there is none)."""
        tablet = self.view.tablet
        self.ids.to_board.text = _("Lobby board")
        self.ids.reload.text = _("Refresh")
        day: AppointmentList | None = tablet.bookings.day
        if day is None:
            self.heading = _("Today's appointments")
            self.notice = str(tablet.message) if not tablet.busy else _("Loading…")
            self._drawn = None
            self.ids.table.clear_widgets()
            return
        waiting = sum(1 for a in day.appointments if a.status == AppointmentStatus.BOOKED)
        self.heading = _("Today's appointments: {count}, {waiting} expected").format(
            count=len(day.appointments), waiting=waiting
        )
        self.notice = "" if day.appointments else _("No appointments today")
        if self._drawn == (id(day), language()):
            return  # drawn once per list: its cells are not rebuilt on every event
        self._drawn = (id(day), language())
        self._fill(day)

    def reload(self) -> None:
        """Fetch the list again now."""
        self.view.tablet.bookings.day = None
        self.on_enter()

    def _fill(self, day: AppointmentList) -> None:
        grid = self.ids.table
        grid.clear_widgets()
        if not day.appointments:
            return
        for text in headings():
            grid.add_widget(Factory.BookingCell(text=text, bold=True, color=theme.NAVY))
        for item in day.appointments:
            late = item.status == AppointmentStatus.NO_SHOW
            for text in appointment_row(item):
                grid.add_widget(Factory.BookingCell(text=text, alert=late))


screens.SCREENS["appointments"] = AppointmentsScreen
