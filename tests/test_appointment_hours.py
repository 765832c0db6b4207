"""Same-day bookings keep to the branch's opening hours: the hub refuses a window outside today's
hours (or any window on a closed day) in Chinese, and tells the tablet the day's hours with the
day's list. The hub's clock is set to 10:00 branch time, so this holds whenever it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.client.models import AppointmentList
from branch_hub.config import WEEKDAYS, BranchConfig
from tests.support.appointmentenv import ZONE, local_now
from tests.support.lobbyenv import BuiltCache, RunningHub, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env

OUTSIDE = "网点今日该时段不营业，请在营业时间内选择时段。"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("appointment-hours"), customers=30)


def _hours_config(today: datetime) -> BranchConfig:
    """Today 09:30-16:00; tomorrow closed; every other day the default."""
    config = branch_config()
    hours = {
        WEEKDAYS[today.weekday()]: "09:30-16:00",
        WEEKDAYS[(today.weekday() + 1) % 7]: "closed",
    }
    opening = config.branch.opening_hours.model_copy(update=hours)
    branch = config.branch.model_copy(update={"opening_hours": opening})
    return config.model_copy(update={"branch": branch})


def _clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at.replace(tzinfo=ZONE).astimezone(UTC)


async def _visit(run: RunningHub, http: aiohttp.ClientSession, pan: str) -> str:
    session_id = (await run.lobby.identify("K1", "pan", pan)).session_id
    kiosk = run.tls.client_context("K1", "kiosk")
    body = {"service": "cash", "session_id": session_id}
    async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
        assert resp.status == 201
        ticket_id = (await resp.json())["ticket"]["id"]
    visit = run.lobby.visits.visit_of_ticket(ticket_id)
    assert visit is not None
    return visit


async def _scenario(run: RunningHub, http: aiohttp.ClientSession, pan: str, ten: datetime) -> None:
    ssl, headers = run.staff("lobby")

    async def call(method: str, path: str, **kw: Any) -> tuple[int, Any]:
        url = f"{run.url}/api/v1{path}"
        async with http.request(method, url, ssl=ssl, headers=headers, **kw) as resp:
            return resp.status, await resp.json()

    visit = await _visit(run, http, pan)
    status, listed = await call("GET", "/appointments")
    assert status == 200
    day = AppointmentList.from_wire(listed)
    assert (day.opens, day.closes) == ("09:30", "16:00")
    tomorrow = (ten.date() + timedelta(1)).isoformat()
    _, closed = await call("GET", f"/appointments?date={tomorrow}")
    assert (closed["opens"], closed["closes"]) == (None, None)
    status, answer = await call("GET", "/appointments?date=2026-02-30")
    assert (status, answer["error"]["code"]) == (400, "bad_appointment_date")

    def body(start: str, end: str, request: str) -> dict[str, Any]:
        window = {"window_start": start, "window_end": end, "request_id": request}
        return {"visit_id": visit, "service": "wealth", **window}

    for start, end in (("15:45", "16:15"), ("16:00", "16:30"), ("09:00", "10:30")):
        status, answer = await call("POST", "/appointments", json=body(start, end, f"r{start[:2]}"))
        assert (status, answer["error"]["code"]) == (400, "appointment_outside_hours"), start
        assert answer["error"]["message_zh"] == OUTSIDE
    status, booked = await call("POST", "/appointments", json=body("15:30", "16:00", "last"))
    assert (status, booked["time"], booked["window_end"]) == (200, "15:30", "16:00")

    desk = run.lobby.appointments
    assert desk is not None
    desk.now = _clock(ten + timedelta(days=1))  # the next day: closed
    status, answer = await call("POST", "/appointments", json=body("11:00", "11:30", "shut"))
    assert (status, answer["error"]["code"]) == (400, "appointment_outside_hours")


def test_bookings_keep_to_the_days_opening_hours(tmp_path: Path, cache: BuiltCache) -> None:
    ten = datetime.combine(local_now().date(), time(10, 0))
    customer = next(c for c in cache.customers if c["cards"] and not c.get("appointments"))

    async def scenario() -> None:
        tls = make_tls_env(tmp_path / "pki")
        async with (
            running_hub(tmp_path / "hub", tls, _hours_config(ten), cache) as run,
            aiohttp.ClientSession() as http,
        ):
            desk = run.lobby.appointments
            assert desk is not None
            desk.now = _clock(ten)
            await _scenario(run, http, customer["cards"][0]["pan"], ten)

    asyncio.run(scenario())
