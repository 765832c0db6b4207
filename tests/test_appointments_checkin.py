"""Check-in of booked customers over TLS: a card read fed as the station's device event.

On time: a reserved ticket (appointment class) for the booked service, the kiosk session
carries the appointment, the advisor's role gets a hub alert and the named advisor a manager
alert. Early: reserved too. Beyond late_min: an ordinary ticket and the kiosk says so. A second
read: the same ticket again, never a second one. No appointment today: a plain greeting.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.client.models import KioskSession
from branch_hub.queue import TicketState
from branch_hub.vocabulary import AppointmentStatus, HubAlertKind
from drivers.events import CardRead, DeviceEvent, EventKind
from kiosk.flow import Flow, Menu
from kiosk.screens import describe
from tests.support.appointmentenv import booking, build_booked_cache, local_now
from tests.support.lobbyenv import BuiltCache, branch_config, running_hub
from tests.support.tlsenv import make_tls_env

NAMES = ("on_time", "missed", "early", "none", "never", "twice")


def _book(rows: list[dict[str, Any]]) -> None:
    now = local_now()
    if (now - timedelta(minutes=100)).date() != (now + timedelta(minutes=60)).date():
        pytest.skip("too close to midnight for same-day windows")
    plain = [r for r in rows if r["tier"] in {"mass", "basic"} and r["cards"]][: len(NAMES)]
    plain[0]["appointments"] = [
        booking(
            "AP-1", now - timedelta(minutes=10), advisor_role="wealth_manager", advisor="S-WEALTH"
        )
    ]
    plain[1]["appointments"] = [booking("AP-2", now - timedelta(minutes=100), 40)]
    plain[2]["appointments"] = [booking("AP-3", now + timedelta(minutes=10), service="loan")]
    plain[3]["appointments"] = [booking("AP-4", now + timedelta(days=1))]
    plain[4]["appointments"] = [booking("AP-5", now - timedelta(minutes=90), 20)]  # never came
    plain[5]["appointments"] = [booking("AP-6", now, service="account")]
    for name, row in zip(NAMES, plain, strict=True):
        row["test_role"] = name


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_booked_cache(tmp_path_factory.mktemp("appointments"), _book)


def _who(cache: BuiltCache, name: str) -> dict[str, Any]:
    return next(r for r in cache.customers if r.get("test_role") == name)


def _swipe(pan: str) -> DeviceEvent:
    return DeviceEvent(
        "K1", "magstripe", EventKind.card_read, CardRead(pan=pan, expiry="3012", source="stripe")
    )


async def _session(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive_json()
            if msg["kind"] == "kiosk.session" and msg["data"].get("state") == "recognised":
                return dict(msg["data"])


def test_booked_customers_check_in_once(tmp_path: Path, cache: BuiltCache) -> None:
    tls = make_tls_env(tmp_path / "pki")

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            lobby = run.lobby
            kiosk = tls.client_context("K1", "kiosk")
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws,
            ):
                await kws.receive_json()  # idle
                seen: dict[str, dict[str, Any]] = {}
                for name in (*NAMES[:4], "on_time"):
                    pan = _who(cache, name)["cards"][0]["pan"]
                    await lobby.on_device_event(_swipe(pan))
                    seen[name if name not in seen else "again"] = await _session(kws)
            twice = await _read_twice_at_once(lobby, _who(cache, "twice")["cards"][0]["pan"])
            tickets = {t.id: t for t in run.hub.lobby.queue.tickets()}
            _check_on_time(
                seen["on_time"],
                tickets,
                _who(cache, "on_time")["appointments"][0]["window_start"][11:16],
            )
            _check_again(seen["again"], seen["on_time"], tickets)
            _check_missed(seen["missed"], tickets)
            assert seen["early"]["appointment"]["arrival"] == "early"
            assert seen["early"]["appointment"]["service"] == "loan"
            assert "appointment" not in seen["none"]
            _check_kiosk_words(seen)
            assert len(tickets) == 4  # on time, missed, early, twice: repeated reads added none
            alerts = [
                a for a in run.hub.alerts.active() if a.kind is HubAlertKind.APPOINTMENT_ARRIVED
            ]
            on_time_ticket = seen["on_time"]["appointment"]["ticket"]
            assert {a.key for a in alerts} == {
                f"appointment_arrived:{on_time_ticket['id']}",
                f"appointment_arrived:{seen['early']['appointment']['ticket']['id']}",
                f"appointment_arrived:{twice}",
            }
            alert = next(a for a in alerts if on_time_ticket["id"] in a.key)
            assert "理财经理" in alert.message_zh
            assert on_time_ticket["number"] in alert.message_zh
            day = next(iter(tickets.values())).day.isoformat()
            assert len(lobby.handoffs.alerts_for("S-WEALTH", day)) == 1
            book = lobby.appointments
            assert book is not None
            assert book.index is not None
            await book.index.index(day)  # as the sweep does once per cache version
            await asyncio.get_running_loop().run_in_executor(None, book.sweep, lobby.now())
            states = {a.key: (a.status, a.arrival) for a in book.book.of_day(day)}
            assert states == {
                "hq:AP-1": (AppointmentStatus.CHECKED_IN, "on_time"),
                "hq:AP-2": (AppointmentStatus.NO_SHOW, "missed"),
                "hq:AP-3": (AppointmentStatus.CHECKED_IN, "early"),
                "hq:AP-5": (AppointmentStatus.NO_SHOW, None),  # from the cache, never read
                "hq:AP-6": (AppointmentStatus.CHECKED_IN, "on_time"),
            }

    asyncio.run(scenario())


def _check_on_time(session: dict[str, Any], tickets: dict[str, Any], time: str) -> None:
    booked = session["appointment"]
    assert booked["arrival"] == "on_time"
    assert booked["reserved"]
    assert not booked["repeated"]
    assert (booked["service"], booked["service_zh"]) == ("wealth", "理财咨询")
    assert booked["time"] == time

    ticket = tickets[booked["ticket"]["id"]]
    assert ticket.appointment
    assert ticket.priority
    assert ticket.service == "wealth"
    assert ticket.state is TicketState.WAITING
    assert session["greeting"] is not None


def _check_again(again: dict[str, Any], first: dict[str, Any], tickets: dict[str, Any]) -> None:
    assert again["appointment"]["repeated"] is True
    assert again["appointment"]["ticket"]["number"] == first["appointment"]["ticket"]["number"]


def _check_missed(session: dict[str, Any], tickets: dict[str, Any]) -> None:
    booked = session["appointment"]
    assert booked["arrival"] == "missed"
    assert booked["reserved"] is False
    ticket = tickets[booked["ticket"]["id"]]
    assert not ticket.appointment
    assert not ticket.priority


def _kiosk_says(session: dict[str, Any], lang: str = "zh") -> tuple[str, str, str]:
    """What the kiosk shows for a session message: title, subtitle, big number."""
    flow = Flow()
    flow.hub_connected()
    flow.menu_loaded(Menu("网点", "Branch", ()))
    flow.message({"kind": "kiosk.session", "data": session})
    if lang == "en":
        flow.touch("lang")
    model = describe(flow.state)
    return model.title, model.subtitle, model.big_number


def _check_kiosk_words(seen: dict[str, dict[str, Any]]) -> None:
    booked = seen["on_time"]["appointment"]
    title, subtitle, number = _kiosk_says(seen["on_time"])
    assert title == f"您预约了 {booked['time']} 的理财咨询"
    assert subtitle == "您已签到，将优先为您叫号"
    assert number == booked["ticket"]["number"]
    assert _kiosk_says(seen["on_time"], "en")[0] == f"You booked Wealth advice at {booked['time']}"
    assert _kiosk_says(seen["again"])[1] == "您已签到过，这是您的号码"
    assert _kiosk_says(seen["missed"])[1] == "您的预约时间已过，已为您取普通号"
    assert "欢迎光临" in _kiosk_says(seen["none"])[0]
    # the typed client model carries the same check-in
    parsed = KioskSession.from_wire(seen["on_time"])
    assert parsed.to_wire() == seen["on_time"]
    assert parsed.appointment is not None


async def _read_twice_at_once(lobby: Any, pan: str) -> str:
    """Two stations read the same booked customer at the same moment: one ticket (its id)."""
    first, second = await asyncio.gather(
        lobby.identify("K1", "pan", pan), lobby.identify("K2", "pan", pan)
    )
    booked = [first.appointment, second.appointment]
    assert sorted(b["repeated"] for b in booked) == [False, True]
    assert booked[0]["ticket"]["id"] == booked[1]["ticket"]["id"]
    return str(booked[0]["ticket"]["id"])
