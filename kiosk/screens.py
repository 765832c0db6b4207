"""What each screen says, in Chinese or English: a pure view model the Kivy layer draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from branch_hub.client.i18n import EN, ZH_CN, wait_words
from kiosk.flow import Phase, ServiceOption, State, Ticket
from kiosk.i18n import N_, both, say

__all__ = ["ButtonModel", "ScreenModel", "describe", "text", "ticket_lines"]

TEXTS: dict[str, str] = {
    "insert": N_("Insert or swipe your bank card or passbook, or place your ID card"),
    "walk_in": N_("Take a ticket without a card"),
    "waiting_now": N_("Now waiting"),
    "reading": N_("Reading, one moment…"),
    "reading_hint": N_("Please leave your card in place"),
    "read_failed": N_("We could not read that"),
    "retry": N_("Try again, or take a ticket without a card"),
    "welcome": N_("Welcome"),
    "priority": N_("Priority service is available to you"),
    "choose": N_("Please choose a service"),
    "printing": N_("Printing your ticket…"),
    "take_ticket": N_("Please take your ticket"),
    "your_number": N_("Your number"),
    "not_printed": N_("Please photograph this screen or ask the lobby manager"),
    "scan": N_("Scan to follow your place in the queue"),
    "unavailable": N_("Temporarily unavailable"),
    "unavailable_hint": N_("Reconnecting; please wait or ask the lobby manager"),
    "ticket_failed": N_("We cannot issue a ticket right now"),
    "ask_staff": N_("Please ask the lobby manager"),
    "cancel": N_("Back"),
    "done": N_("Done"),
    "continue": N_("Continue"),
}

PROBLEMS: dict[str, str] = {
    "unreadable": N_("This card could not be read"),
    "unknown_card": N_("This kind of card is not supported here"),
    "reader_fault": N_("The card reader has a fault"),
    "card_removed": N_("The card was removed too soon"),
}

BOOKING: dict[str, str] = {
    "booked": N_("You booked {service} at {time}"),
    "reserved": N_("You are checked in; you will be called first"),
    "repeated": N_("You have checked in already; this is your number"),
    "missed": N_("Your booked time has passed; this is an ordinary ticket"),
}

PRINT_PROBLEMS: dict[str, str] = {
    "paper_out": N_("The printer is out of paper"),
    "cover_open": N_("The printer cover is open"),
    "offline": N_("The printer is offline"),
    "error": N_("The ticket could not be printed"),
}
# The language button names the language a press switches to, each in itself.
LANGUAGE_BUTTON = {"zh": "English", "en": "中文"}


def text(key: str, lang: str) -> str:
    """The text for `key` in `lang` ('zh' or 'en')."""
    return (
        LANGUAGE_BUTTON[lang if lang == "en" else "zh"] if key == "lang" else say(TEXTS[key], lang)
    )


@dataclass(frozen=True)
class ButtonModel:
    """A button: the action it sends to the flow and its labels."""

    action: str
    label: str
    sublabel: str = ""
    kind: str = "primary"  # primary | service | secondary


@dataclass(frozen=True)
class ScreenModel:
    """Everything one screen shows."""

    phase: Phase
    lang: str
    header: str
    title: str
    subtitle: str = ""
    lines: tuple[str, ...] = ()
    big_number: str = ""
    qr: str = ""
    notice: str = ""
    illustration: bool = False
    busy: bool = False
    buttons: tuple[ButtonModel, ...] = ()
    lang_button: ButtonModel | None = field(default=None)

    def all_text(self) -> str:
        """Every string on the screen (tests check what a bystander could read)."""
        parts = [self.header, self.title, self.subtitle, *self.lines, self.big_number, self.notice]
        for b in self.buttons:
            parts += [b.label, b.sublabel]
        return "\n".join(p for p in parts if p)


def _wait_range(lo: int, hi: int, lang: str) -> str:
    return wait_words(lo, hi, EN if lang == "en" else ZH_CN)  # the ticket's and display's words


def _waiting(n: int, lang: str) -> str:
    return say(N_("{n} waiting"), lang).format(n=n)


def _service_button(s: ServiceOption, lang: str) -> ButtonModel:
    main, other = (s.name_en, s.name_zh) if lang == "en" else (s.name_zh, s.name_en)
    figures = f"{_waiting(s.waiting, lang)} · {_wait_range(*s.wait_min, lang)}"
    return ButtonModel(f"service:{s.code}", main, f"{other}\n{figures}", "service")


@dataclass(frozen=True)
class _Frame:
    """What every screen shares: its language, the branch's name and the language button."""

    lang: str
    header: str
    lang_button: ButtonModel


def describe(state: State) -> ScreenModel:
    """Build the screen for a flow state."""
    lang = state.lang
    menu = state.menu
    header = ""
    if menu is not None:
        header = menu.branch_en if lang == "en" else menu.branch_zh
    frame = _Frame(lang, header, ButtonModel("lang", text("lang", lang), kind="secondary"))
    if state.phase in (Phase.SCANNING, Phase.UPGRADED):
        from kiosk import scan_screens  # it builds on this module's models

        camera = scan_screens.scanning if state.phase is Phase.SCANNING else scan_screens.upgraded
        return camera(state, lang, header, frame.lang_button)
    return _SCREENS.get(state.phase, _ticket_failed)(state, frame)


def _unavailable(state: State, f: _Frame) -> ScreenModel:
    return ScreenModel(
        Phase.UNAVAILABLE,
        f.lang,
        f.header,
        both(TEXTS["unavailable"]),
        subtitle=text("unavailable_hint", f.lang),
        busy=True,
    )


def _attract(state: State, f: _Frame) -> ScreenModel:
    lang, menu = f.lang, state.menu
    lines: tuple[str, ...] = ()
    if menu is not None:
        lines = tuple(
            f"{s.name_en if lang == 'en' else s.name_zh}  {_waiting(s.waiting, lang)}"
            for s in menu.services
        )
    return ScreenModel(
        Phase.ATTRACT,
        lang,
        f.header,
        text("insert", lang),
        subtitle=text("waiting_now", lang),
        lines=lines,
        illustration=True,
        buttons=(ButtonModel("walk_in", both(TEXTS["walk_in"])), *_camera_button(state, "scan")),
        lang_button=f.lang_button,
    )


def _camera_button(state: State, action: str) -> tuple[ButtonModel, ...]:
    """The camera's button (scan a code, or show a printed ticket) when the kiosk has one."""
    from kiosk.scan_screens import SCAN_BUTTONS

    if not state.camera or (action == "have_ticket" and (state.walk_in or not state.session_id)):
        return ()
    return (ButtonModel(action, both(SCAN_BUTTONS[action]), kind="primary"),)


def _reading(state: State, f: _Frame) -> ScreenModel:
    return ScreenModel(
        Phase.READING,
        f.lang,
        f.header,
        text("reading", f.lang),
        text("reading_hint", f.lang),
        busy=True,
    )


def _read_failed(state: State, f: _Frame) -> ScreenModel:
    lang = f.lang
    problem = PROBLEMS.get(state.problem or "unreadable", PROBLEMS["unreadable"])
    return ScreenModel(
        Phase.READ_FAILED,
        lang,
        f.header,
        say(problem, lang),
        subtitle=text("retry", lang),
        notice=text("read_failed", lang),
        illustration=True,
        buttons=(
            ButtonModel("walk_in", both(TEXTS["walk_in"])),
            ButtonModel("cancel", text("cancel", lang), kind="secondary"),
        ),
        lang_button=f.lang_button,
    )


def _greeting(state: State, f: _Frame) -> ScreenModel:
    lang, g = f.lang, state.greeting
    salutation = ""
    if g is not None:
        salutation = g.salutation_en if lang == "en" else g.salutation_zh
    title = say(N_("{welcome}, {salutation}"), lang).format(
        welcome=text("welcome", lang), salutation=salutation
    )
    if not salutation:
        title = text("welcome", lang)
    note = text("priority", lang) if g is not None and g.priority else ""
    return ScreenModel(
        Phase.GREETING,
        lang,
        f.header,
        title,
        subtitle=note,
        buttons=(
            ButtonModel("continue", text("continue", lang)),
            *_camera_button(state, "have_ticket"),
        ),
        lang_button=f.lang_button,
    )


def _menu(state: State, f: _Frame) -> ScreenModel:
    lang, g, menu = f.lang, state.greeting, state.menu
    greet = ""
    if g is not None:
        greet = (g.salutation_en if lang == "en" else g.salutation_zh) or ""
    title = text("choose", lang)
    if greet:
        choice = title if lang == "zh" else f"{title[0].lower()}{title[1:]}"
        title = say(N_("{greeting}, {choice}"), lang).format(greeting=greet, choice=choice)
    services = tuple(_service_button(s, lang) for s in (menu.services if menu else ()))
    return ScreenModel(
        Phase.MENU,
        lang,
        f.header,
        title,
        subtitle=text("priority", lang) if g is not None and g.priority else "",
        buttons=(
            *services,
            *_camera_button(state, "have_ticket"),
            ButtonModel("cancel", text("cancel", lang), kind="secondary"),
        ),
        lang_button=f.lang_button,
    )


def _printing(state: State, f: _Frame) -> ScreenModel:
    return ScreenModel(Phase.PRINTING, f.lang, f.header, text("printing", f.lang), busy=True)


def _ticket(state: State, f: _Frame) -> ScreenModel:
    t = state.ticket
    if t is None:  # the flow never shows a ticket screen without a ticket
        return _ticket_failed(state, f)
    lang = f.lang
    lines = ticket_lines(t, lang)
    notice = ""
    title = text("take_ticket", lang)
    subtitle = ""
    if state.booking is not None:
        title, subtitle = _booking_words(state, lang)
    if t.print_problem is not None:
        problem = PRINT_PROBLEMS.get(t.print_problem, PRINT_PROBLEMS["error"])
        notice = f"{say(problem, lang)} · {text('not_printed', lang)}"
        title = text("your_number", lang)
    return ScreenModel(
        Phase.TICKET,
        lang,
        f.header,
        title,
        subtitle=subtitle,
        lines=lines,
        big_number=t.number,
        qr=t.qr,
        notice=notice,
        buttons=(ButtonModel("done", text("done", lang), kind="secondary"),),
        lang_button=f.lang_button,
    )


def ticket_lines(t: Ticket, lang: str) -> tuple[str, str, str]:
    """A ticket's service, people ahead with the wait, and the phone hint."""
    service = t.service_en if lang == "en" else t.service_zh
    ahead = say(N_("{n} ahead of you"), lang).format(n=t.people_ahead)
    return service, f"{ahead} · {_wait_range(*t.wait_min, lang)}", text("scan", lang)


def _booking_words(state: State, lang: str) -> tuple[str, str]:
    """Title and subtitle of a booked customer's ticket: the booking, then how it went."""
    b = state.booking
    if b is None:  # only called with a booking
        return text("take_ticket", lang), ""
    service = b.service_en if lang == "en" else b.service_zh
    title = say(BOOKING["booked"], lang).format(service=service, time=b.time)
    if b.repeated:
        return title, say(BOOKING["repeated"], lang)
    return title, say(BOOKING["reserved" if b.reserved else "missed"], lang)


def _ticket_failed(state: State, f: _Frame) -> ScreenModel:
    return ScreenModel(
        Phase.TICKET_FAILED,
        f.lang,
        f.header,
        text("ticket_failed", f.lang),
        subtitle=text("ask_staff", f.lang),
        buttons=(ButtonModel("done", text("done", f.lang), kind="secondary"),),
        lang_button=f.lang_button,
    )


_SCREENS: dict[Phase, Callable[[State, _Frame], ScreenModel]] = {
    Phase.UNAVAILABLE: _unavailable,
    Phase.ATTRACT: _attract,
    Phase.READING: _reading,
    Phase.READ_FAILED: _read_failed,
    Phase.GREETING: _greeting,
    Phase.MENU: _menu,
    Phase.PRINTING: _printing,
    Phase.TICKET: _ticket,
    Phase.TICKET_FAILED: _ticket_failed,
}
