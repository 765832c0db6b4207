"""The lobby board's lines as staff read them: pure text from the hub's board, no window.

Every text is English in the code and Chinese from the tablet's catalogue; tiers and services
by their names, counters by their numbers, never an id. A line flagged `alert` is drawn in the
alert colour (a wait over its tier's target, a priority customer unclaimed too long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from branch_hub.client.i18n import wait_words
from branch_hub.client.models import LobbyBoard
from tablet.i18n import N_, _, language
from tablet.words import service_name, tier_name

__all__ = ["BoardLine", "BoardText", "board_text", "span"]

_CONDITIONS = {
    "fault": N_("fault"),
    "paper_low": N_("paper low"),
    "paper_out": N_("out of paper"),
    "cover_open": N_("cover open"),
    "offline": N_("offline"),
    "unavailable": N_("unavailable"),
    "error": N_("error"),
}
_DEVICES = {
    "printer": N_("Ticket printer"),
    "card_reader": N_("Card reader"),
    "id_reader": N_("ID card reader"),
    "magstripe": N_("Stripe reader"),
    "customer_cache": N_("Customer data"),
}
_LINKS = {"up": N_("connected"), "down": N_("down"), "off": N_("not configured")}


@dataclass(frozen=True)
class BoardLine:
    """One line of a board section; `alert` lines are drawn in the alert colour."""

    text: str
    alert: bool = False


@dataclass(frozen=True)
class BoardText:
    """Everything the board screen shows, section by section."""

    summary: str
    links: str
    links_alert: bool
    services: tuple[BoardLine, ...]
    tiers: tuple[BoardLine, ...]
    unclaimed: tuple[BoardLine, ...]
    counters: tuple[BoardLine, ...]
    devices: tuple[BoardLine, ...]


def span(seconds: float | None) -> str:
    """A duration as staff say it: under a minute, N minutes, or N hours M minutes."""
    if seconds is None:
        return _("unknown")
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("under a minute")
    if minutes < 60:
        return _("{n} min").format(n=minutes)
    return _("{h} h {m} min").format(h=minutes // 60, m=minutes % 60)


def _tier(code: str) -> str:
    return _("Walk-ins") if code == "walk_in" else tier_name(code)


def _services(board: LobbyBoard) -> tuple[BoardLine, ...]:
    lines = []
    for code, count in board.waiting.items():
        text = _("{service}: {n} waiting").format(service=service_name(code), n=count)
        vip = board.priority_waiting.get(code, 0)
        if vip:
            text += _(" ({n} priority)").format(n=vip)
        if code in board.wait_min:  # the kiosk's, the ticket's and the display's words
            text += f" · {wait_words(*board.wait_min[code], language())}"
        lines.append(BoardLine(text))
    return tuple(lines)


def _tiers(board: LobbyBoard, late_s: float) -> tuple[BoardLine, ...]:
    lines = []
    for line in board.tiers:
        text = _("{tier}: {n} waiting, longest {wait} (target {target})").format(
            tier=_tier(line.tier),
            n=line.waiting,
            wait=span(line.longest_wait_s + late_s) if line.waiting else "—",
            target=span(line.target_s),
        )
        # The hub read the board a moment ago: a wait may have passed its target since.
        over = line.over or (line.waiting > 0 and line.longest_wait_s + late_s > line.target_s)
        if line.over:
            text += _(", {n} over target").format(n=line.over_target)
        lines.append(BoardLine(text, over))
    return tuple(lines)


def _unclaimed(board: LobbyBoard, late_s: float) -> tuple[BoardLine, ...]:
    if not board.unclaimed:
        return (BoardLine(_("Every priority customer has been claimed")),)
    return tuple(
        BoardLine(
            _("{ticket}  {tier}  waiting {wait}, unclaimed").format(
                ticket=u.ticket, tier=_tier(u.tier), wait=span(u.waited_s + late_s)
            ),
            u.alert,
        )
        for u in board.unclaimed
    )


def _counters(board: LobbyBoard) -> tuple[BoardLine, ...]:
    lines = []
    for c in board.counters:
        if not c.open:
            state = _("closed")
        elif c.serving:
            state = _("serving {ticket}").format(ticket=c.serving)
        else:
            state = _("idle")
        lines.append(BoardLine(_("Counter {n}: {state}").format(n=c.number, state=state)))
    return tuple(lines)


def _condition(code: str) -> str:
    """A device's condition in words; a failed print says why (print_failed:paper_out)."""
    failed, _sep, why = code.partition("print_failed:")
    if not failed and why:
        return _("ticket not printed ({why})").format(why=_condition(why))
    return _(_CONDITIONS[code]) if code in _CONDITIONS else code


def _devices(board: LobbyBoard) -> tuple[BoardLine, ...]:
    if not board.devices:
        return (BoardLine(_("Every station device is working")),)
    return tuple(
        BoardLine(
            _("{station} {device}: {condition}").format(
                station=d.station,
                device=_(_DEVICES[d.device]) if d.device in _DEVICES else d.device,
                condition=_condition(d.condition),
            ),
            True,
        )
        for d in board.devices
    )


def _links(board: LobbyBoard) -> tuple[str, bool]:
    cache = board.cache
    if cache.age_s is None:
        age = _("Customer data: none yet")
    else:
        age = _("Customer data: {age} old").format(age=span(cache.age_s))
    if cache.stale:
        age += _(" (out of date)")
    hq = board.hq
    link = _LINKS.get(hq.link)
    text = _("HQ link: {state}").format(state=_(link) if link else hq.link)
    if hq.pending:
        text += _(", {n} to send").format(n=hq.pending)
    return f"{age}    {text}", cache.stale or hq.link == "down"


def board_text(board: LobbyBoard, now: datetime) -> BoardText:
    """The board's sections, with waits moved on to `now` since the hub read them."""
    try:
        late_s = max(0.0, (now - datetime.fromisoformat(board.at)).total_seconds())
    except (ValueError, TypeError):
        late_s = 0.0
    waiting = sum(board.waiting.values())
    summary = _("{n} waiting    Counters open {open}, idle {idle}").format(
        n=waiting, open=board.counters_open, idle=board.counters_idle
    )
    links, links_alert = _links(board)
    return BoardText(
        summary=summary,
        links=links,
        links_alert=links_alert,
        services=_services(board),
        tiers=_tiers(board, late_s),
        unclaimed=_unclaimed(board, late_s),
        counters=_counters(board),
        devices=_devices(board),
    )
