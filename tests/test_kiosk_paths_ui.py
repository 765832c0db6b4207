"""Every way a customer identifies at the kiosk, end to end, with every reader of station K1 on.

A real Kivy window under Xvfb, driven by simulated touches, against the real hub (`build_hub`,
mutual TLS) on a thread. The chip reader is pcscd's vpcd reader with virtual EMV cards; the
resident ID reader, the stripe reader (keyboard wedge) and the ticket printer are the hub's pty
simulators. Customers and their bookings come from a synthetic HQ bundle, published and pulled
by `sync`. Each path checks what the customer sees (screens and texts) and what the hub
recorded (the ticket's class, the visit's `identified_by`). The appointment screens are
pictured at the kiosk's portrait size; `./run screenshots` writes them to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from drivers.sim.identity import identity_from_export
from drivers.sim.magstripe import card_swipe, passbook_swipe
from tests.sim_identities import synthetic_card
from tests.support.appointmentenv import booking, build_booked_cache
from tests.support.kiosk_real_hub import RealKioskHub, kiosk_config
from tests.support.kiosk_ui import (
    PORTRAIT,
    Kiosk,
    arrivals,
    assert_private,
    chip_identity,
    harness,
    open_kiosk,
    pcscd,
)
from tests.support.kivy_harness import Harness
from tests.support.lobbyenv import BuiltCache
from tests.support.tlsenv import make_tls_env

__all__ = ["harness", "pcscd"]

pytestmark = [pytest.mark.display, pytest.mark.pcsc]

ZONE = ZoneInfo("Asia/Shanghai")  # the sample branch's
MORNING = time(10, 0)  # the appointment desk's clock: 10:00 branch time today
ROLES = ("regular", "book", "resident", "on_time", "late")


def _cast(rows: list[dict[str, Any]]) -> None:
    """Pick the customers of each path; book the on-time and the late one."""

    def chip(row: dict[str, Any]) -> bool:
        return any(card["pan"].startswith("62") for card in row["cards"])

    ordinary = [r for r in rows if r["tier"] in {"mass", "basic"} and chip(r)]
    cast = {
        "regular": next(r for r in rows if r["tier"] == "wealth" and chip(r)),
        "book": next(r for r in ordinary if r["passbooks"]),
        "resident": next(r for r in ordinary if not r["passbooks"]),
    }
    rest = [r for r in ordinary if r not in cast.values()]
    cast["on_time"], cast["late"] = rest[0], rest[1]
    today = datetime.combine(datetime.now(ZONE).date(), MORNING)
    cast["on_time"]["appointments"] = [booking("AP-K1", today - timedelta(minutes=10))]
    cast["late"]["appointments"] = [booking("AP-K2", today - timedelta(minutes=120), 40)]
    for role, row in cast.items():
        row["test_role"] = role


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_booked_cache(tmp_path_factory.mktemp("hq"), _cast)


def who(kiosk: Kiosk, role: str) -> dict[str, Any]:
    return next(r for r in kiosk.customers if r.get("test_role") == role)


@pytest.fixture(scope="module")
def station(
    harness: Harness, pcscd: Any, cache: BuiltCache, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kiosk]:
    """One hub and one kiosk for the module, every reader of K1 on, the desk's clock at 10:00."""
    from kiosk.flow import Timeouts

    root = tmp_path_factory.mktemp("station")
    tls = make_tls_env(root / "pki")
    config = kiosk_config(id_reader="sim://idreader", magstripe="sim://magstripe")
    hub = RealKioskHub(root / "hub", tls, config, cache_dir=cache.folder).start()
    local = datetime.combine(datetime.now(ZONE).date(), MORNING, ZONE)
    hub.lobby.appointments.now = lambda: local.astimezone(UTC)
    # The ticket stays until "done": each test leaves it by the customer's own touch.
    timeouts = Timeouts(reading=20.0, read_failed=5.0, greeting=30.0, menu=20.0, ticket=30.0)
    try:
        with open_kiosk(harness, hub, tls, pcscd, cache.customers, root / "screens", timeouts) as k:
            yield k
    finally:
        hub.close()


@pytest.fixture
def kiosk(station: Kiosk) -> Iterator[Kiosk]:
    """The station on its attract screen; afterwards every card off its reader, back to attract."""
    station.wait_for("attract")
    try:
        yield station
    finally:
        station.remove_cards()
        idreader = station.hub.sim("idreader")
        idreader.remove()
        idreader.clear_faults()
        for _ in range(3):
            actions = [a for a in ("done", "cancel", "continue") if a in station.view.buttons]
            if station.phase.value == "attract" or not actions:
                break  # a screen without buttons (reading) returns by its own timeout
            station.tap(actions[0])
        station.wait_for("attract")


def recorded(kiosk: Kiosk, arrival: dict[str, Any]) -> tuple[Any, Any]:
    """The hub's visit and queue ticket behind an arrival event."""
    running = kiosk.hub.running
    assert running is not None
    hub = running.hub

    async def read() -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        visit = await loop.run_in_executor(None, hub.lobby.visits.get, arrival["visit_id"])
        tickets = await loop.run_in_executor(None, hub.lobby.queue.tickets)
        return visit, next(t for t in tickets if t.id == arrival["ticket"]["id"])

    result: tuple[Any, Any] = kiosk.hub.call(read())
    return result


def greeted(kiosk: Kiosk, customer: dict[str, Any]) -> str:
    """On the greeting screen: the customer's salutation; returns it."""
    kiosk.wait_for("greeting")
    greeting = kiosk.controller.flow.state.greeting
    assert greeting.salutation_zh[0] == customer["name"][0]
    assert f"{greeting.salutation_zh}，欢迎光临" in kiosk.text()
    assert_private(kiosk, customer)
    salutation: str = greeting.salutation_zh
    return salutation


def take_ticket(kiosk: Kiosk, service: str) -> dict[str, Any]:
    """From the greeting or the menu to the ticket; returns the hub's arrival event."""
    if kiosk.phase.value == "greeting":
        kiosk.tap("continue")
    kiosk.wait_for("menu")
    before = len(arrivals(kiosk))
    kiosk.tap(f"service:{service}")
    kiosk.wait_for("ticket")
    found = arrivals(kiosk)
    assert len(found) == before + 1
    assert found[-1]["ticket"]["number"] in kiosk.text()
    return found[-1]


def test_chip_card_greets_and_gives_a_priority_ticket(kiosk: Kiosk) -> None:
    regular = who(kiosk, "regular")
    kiosk.insert_card(regular)
    salutation = greeted(kiosk, regular)
    assert "您可享受优先服务" in kiosk.text()
    kiosk.tap("continue")
    kiosk.wait_for("menu")
    assert f"{salutation}，请选择您要办理的业务" in kiosk.text()
    arrival = take_ticket(kiosk, "wealth")
    visit, ticket = recorded(kiosk, arrival)
    assert (visit.identified_by, visit.tier, visit.walk_in) == ("chip", "wealth", False)
    assert (ticket.priority, ticket.appointment) == (True, False)
    assert "请取票" in kiosk.text()


def test_stripe_card_of_the_same_customer(kiosk: Kiosk) -> None:
    regular = who(kiosk, "regular")
    card = chip_identity(regular)
    kiosk.hub.sim("magstripe").swipe(card_swipe(card.pan, card.expiry))
    greeted(kiosk, regular)
    arrival = take_ticket(kiosk, "cash")
    visit, ticket = recorded(kiosk, arrival)
    assert (visit.identified_by, visit.walk_in) == ("stripe", False)
    assert ticket.priority is True


def test_known_passbook(kiosk: Kiosk) -> None:
    holder = who(kiosk, "book")
    account = holder["passbooks"][0]["account"]
    kiosk.hub.sim("magstripe").swipe(passbook_swipe(account))
    greeted(kiosk, holder)
    assert "您可享受优先服务" not in kiosk.text()
    arrival = take_ticket(kiosk, "cash")
    visit, ticket = recorded(kiosk, arrival)
    assert (visit.identified_by, visit.tier, visit.walk_in) == ("passbook", holder["tier"], False)
    assert (ticket.priority, ticket.appointment) == (False, False)


def test_resident_id_card_shows_reading_first(kiosk: Kiosk) -> None:
    resident = who(kiosk, "resident")
    idreader = kiosk.hub.sim("idreader")
    idreader.set_fault("slow", 0.3)  # each SAM answer takes as long as a real reader's read
    drawn = len(kiosk.view.render_times)
    idreader.place(identity_from_export(resident))
    greeted(kiosk, resident)
    drawings = [(phase.value, at) for phase, at in kiosk.view.render_times[drawn:]]
    # (a fresh menu may redraw attract first; a second "reading" message may redraw reading)
    shown = [name for name, _ in groupby(name for name, _ in drawings if name != "attract")]
    assert shown[:2] == ["reading", "greeting"], shown
    reading_drawn = next(at for name, at in drawings if name == "reading")
    # "reading" was on screen before the hub's answer to the read reached the kiosk
    assert reading_drawn < kiosk.link.notice_times["kiosk.session"]
    arrival = take_ticket(kiosk, "account")
    visit, ticket = recorded(kiosk, arrival)
    assert (visit.identified_by, visit.walk_in) == ("id_number", False)
    assert ticket.priority is False


def test_unknown_card_takes_the_walk_in_path(kiosk: Kiosk) -> None:
    stranger = synthetic_card(seed=3)  # a card of someone the branch's cache does not hold
    kiosk.insert_card(stranger)
    kiosk.wait_for("menu")
    state = kiosk.controller.flow.state
    assert (state.walk_in, state.greeting) == (True, None)
    assert "欢迎光临" not in kiosk.text()
    arrival = take_ticket(kiosk, "cash")
    assert arrival["walk_in"] is True
    visit, ticket = recorded(kiosk, arrival)
    assert (visit.customer_id, visit.identified_by, visit.walk_in) == (None, "chip", True)
    assert (ticket.priority, ticket.appointment) == (False, False)


def test_appointment_check_in_by_card(kiosk: Kiosk) -> None:
    booked = who(kiosk, "on_time")
    before = len(arrivals(kiosk))
    kiosk.insert_card(booked)
    kiosk.wait_for("ticket", 30)
    text = kiosk.text()
    assert "您预约了 09:50 的理财咨询" in text
    assert "您已签到，将优先为您叫号" in text
    assert_private(kiosk, booked)
    arrival = arrivals(kiosk)[-1]
    assert len(arrivals(kiosk)) == before + 1
    number = arrival["ticket"]["number"]
    assert number in text
    visit, ticket = recorded(kiosk, arrival)
    assert (visit.identified_by, ticket.appointment, ticket.service) == ("chip", True, "wealth")
    assert kiosk.hub.sim("printer").wait_tickets(before + 1, 5)
    kiosk.shoot_as("kiosk-appointment-ontime.png", PORTRAIT)
    kiosk.tap("done")
    kiosk.wait_for("attract")

    # A second read of the same customer (the card swiped too): the same ticket, said so.
    card = chip_identity(booked)
    kiosk.hub.sim("magstripe").swipe(card_swipe(card.pan, card.expiry))
    kiosk.wait_for("ticket")
    text = kiosk.text()
    assert "您已签到过，这是您的号码" in text
    assert number in text
    assert len(arrivals(kiosk)) == before + 1  # no second ticket
    kiosk.shoot_as("kiosk-appointment-repeated.png", PORTRAIT)


def test_late_for_an_appointment(kiosk: Kiosk) -> None:
    late = who(kiosk, "late")
    kiosk.insert_card(late)
    kiosk.wait_for("ticket", 30)  # a chip read on a loaded machine can take seconds
    text = kiosk.text()
    assert "您预约了 08:00 的理财咨询" in text
    assert "您的预约时间已过，已为您取普通号" in text
    assert_private(kiosk, late)
    arrival = arrivals(kiosk)[-1]
    assert arrival["ticket"]["number"] in text
    visit, ticket = recorded(kiosk, arrival)
    assert (visit.identified_by, visit.tier) == ("chip", late["tier"])
    assert (ticket.priority, ticket.appointment) == (False, False)
    kiosk.shoot_as("kiosk-appointment-late.png", PORTRAIT)
