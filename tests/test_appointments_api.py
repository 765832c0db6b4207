"""Same-day bookings on the tablet over TLS: a recognised customer's visit is booked, a retry
finds the same booking, bad input is refused with a clear answer and changes nothing, the
customer then checks in at the kiosk on that booking, and a booking nobody checked in by
window_end + late_min is listed as a no-show."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.client.models import AppointmentList, BranchReport
from branch_hub.lobby.appointment_book import Appointment
from tests.support.appointmentenv import local_now, open_all_day
from tests.support.lobbyenv import BuiltCache, RunningHub, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env

Call = Any


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("appointments-api"), customers=40)


def _caller(run: RunningHub, http: aiohttp.ClientSession, who: str) -> Call:
    ssl, headers = run.staff(who)

    async def call(method: str, path: str, **kw: Any) -> tuple[int, Any]:
        url = f"{run.url}/api/v1{path}"
        async with http.request(method, url, ssl=ssl, headers=headers, **kw) as resp:
            return resp.status, await resp.json()

    return call


async def _visit(run: RunningHub, http: aiohttp.ClientSession, pan: str | None) -> str:
    """A kiosk arrival (recognised by its card, or a walk-in); return its visit id."""
    session_id = None
    if pan is not None:
        session_id = (await run.lobby.identify("K1", "pan", pan)).session_id
    kiosk = run.tls.client_context("K1", "kiosk")
    body = {"service": "cash", "session_id": session_id}
    async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
        assert resp.status == 201
        ticket_id = (await resp.json())["ticket"]["id"]
    visit = run.lobby.visits.visit_of_ticket(ticket_id)
    assert visit is not None
    return visit


def _hhmm(minutes: int) -> str:
    return (local_now() + timedelta(minutes=minutes)).strftime("%H:%M")


async def _refusals(lobby: Call, visit: str, walk_in: str) -> None:
    good = {"visit_id": visit, "service": "wealth", "window_start": _hhmm(5)}
    cases = [
        (
            {**good, "visit_id": walk_in, "window_end": _hhmm(35)},
            404,
            "appointment_unknown_customer",
        ),
        ({**good, "visit_id": "f" * 16, "window_end": _hhmm(35)}, 404, "unknown_visit"),
        (
            {**good, "window_start": _hhmm(-60), "window_end": _hhmm(-30)},
            400,
            "appointment_in_past",
        ),
        ({**good, "window_end": _hhmm(2)}, 400, "appointment_window"),
        ({**good, "service": "gold", "window_end": _hhmm(35)}, 400, "unknown_service"),
        ({**good, "window_end": "25:00"}, 400, "bad_appointment"),
        ({**good, "window_start": _hhmm(20), "window_end": _hhmm(50)}, 409, "appointment_overlap"),
    ]
    for body, status, code in cases:
        got, answer = await lobby("POST", "/appointments", json=body)
        assert (got, answer["error"]["code"]) == (status, code), body
        assert answer["error"]["message_zh"]


def test_tablet_books_and_customer_checks_in(tmp_path: Path, cache: BuiltCache) -> None:
    now = local_now()
    if (now + timedelta(minutes=60)).date() != now.date() or now.hour < 2:
        pytest.skip("too close to midnight for same-day windows")
    tls = make_tls_env(tmp_path / "pki")
    customer = next(c for c in cache.customers if c["tier"] in {"mass", "basic"} and c["cards"])
    pan = customer["cards"][0]["pan"]

    async def scenario() -> None:
        async with (
            running_hub(tmp_path / "hub", tls, open_all_day(branch_config()), cache) as run,
            aiohttp.ClientSession() as http,
        ):
            visit, walk_in = await _visit(run, http, pan), await _visit(run, http, None)
            lobby, wealth = _caller(run, http, "lobby"), _caller(run, http, "wealth")
            body = {
                "visit_id": visit,
                "service": "wealth",
                "window_start": _hhmm(5),
                "window_end": _hhmm(35),
                "advisor_role": "wealth_manager",
                "request_id": "book-1",
            }
            status, booked = await lobby("POST", "/appointments", json=body)
            assert status == 200, booked
            assert (booked["status"], booked["channel"], booked["ticket"]) == (
                "booked",
                "branch",
                None,
            )
            again = await lobby("POST", "/appointments", json=body)
            assert again == (200, booked)
            await _refusals(lobby, visit, walk_in)
            teller = _caller(run, http, "teller")
            assert (await teller("POST", "/appointments", json=body))[0] == 403
            _, listed = await wealth("GET", "/appointments")
            assert [a["key"] for a in listed["appointments"]] == [booked["key"]]
            assert "customer" not in str(listed)
            assert customer["name"] not in str(listed)
            session = await run.lobby.identify("K1", "pan", pan)
            assert session.appointment is not None
            assert session.appointment["arrival"] == "early"
            assert session.appointment["reserved"] is True
            _, listed = await wealth("GET", "/appointments")
            checked = AppointmentList.from_wire(listed).appointments[0]
            assert checked.status == "checked_in"
            assert checked.ticket == session.appointment["ticket"]["number"]
            await _no_show(run, wealth)

    asyncio.run(scenario())


async def _no_show(run: RunningHub, wealth: Call) -> None:
    """A booking made earlier today that nobody checked in: a no-show once late_min passed."""
    desk = run.lobby.appointments
    assert desk is not None
    day = local_now().date().isoformat()
    start = local_now() - timedelta(minutes=120)
    if start.date().isoformat() != day:
        return
    earlier = Appointment(
        key="hub:earlier",
        day=day,
        customer_id="C-NOBODY",
        service="loan",
        window_start=start.isoformat(timespec="minutes"),
        window_end=(start + timedelta(minutes=30)).isoformat(timespec="minutes"),
        channel="branch",
    )
    await asyncio.get_running_loop().run_in_executor(None, desk.book.put, earlier)
    _, listed = await wealth("GET", f"/appointments?date={day}")
    states = {a["key"]: a["status"] for a in listed["appointments"]}
    assert states["hub:earlier"] == "no_show"
    status, answer = await wealth("GET", "/appointments?date=yesterday")
    assert (status, answer["error"]["code"]) == (400, "bad_appointment_date")


async def _day_report(lobby: Call) -> None:
    """The day report counts the bookings: one checked in early, one no-show."""
    status, body = await lobby("GET", "/reports/day")
    assert status == 200
    figures = BranchReport.from_wire(body).appointments
    assert figures.checked_in.early == 1
    assert figures.booked == figures.checked_in.early + figures.no_show + figures.pending
    assert figures.by_channel == {"branch": figures.booked}
