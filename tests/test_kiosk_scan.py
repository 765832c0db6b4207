"""The kiosk's camera against the production hub over TLS: appointment codes and upgrades.

An appointment QR (HQ's `code_digest` in the export, the token only in the customer's SMS)
checks its customer in exactly as a card read: the reserved ticket, the same ticket on a second
scan, the visit recognised `appointment_qr`. Every wrong code (malformed, unknown, tomorrow's,
another branch's) gets one identical answer and changes nothing; the eleventh in a minute gets
429. A recognised customer shows a walk-in ticket's QR (its guest link, or with passes off the
plain reference): it keeps its number and takes the class.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.client.models import KioskSession, TicketUpgraded
from branch_hub.queue import Actor, TicketState
from branch_hub.reports.queue_figures import method_of
from drivers.events import CardRead, DeviceEvent, EventKind
from sync.export_appointments import appointment_code, code_digest
from tests.support.appointmentenv import booking, build_booked_cache, local_now
from tests.support.lobbyenv import BuiltCache, RunningHub, branch_config, running_hub
from tests.support.tlsenv import make_tls_env
from tests.test_guest_page import guest_config

TOKENS = {name: secrets.token_urlsafe(16) for name in ("today", "tomorrow", "elsewhere")}


def _book(rows: list[dict[str, Any]]) -> None:
    now = local_now()
    if (now - timedelta(minutes=10)).date() != (now + timedelta(minutes=40)).date():
        pytest.skip("too close to midnight for same-day windows")
    plain = [r for r in rows if r["tier"] in {"mass", "basic"} and r["cards"]]
    today = booking("AP-Q1", now - timedelta(minutes=10), advisor_role="wealth_manager")
    tomorrow = booking("AP-Q2", now + timedelta(days=1))
    plain[0]["appointments"] = [today | {"code_digest": code_digest(TOKENS["today"])}]
    plain[1]["appointments"] = [tomorrow | {"code_digest": code_digest(TOKENS["tomorrow"])}]
    plain[0]["test_role"], plain[1]["test_role"] = "booked", "tomorrow"
    plain[2]["tier"], plain[2]["test_role"] = "wealth", "upgrade"  # a priority class
    plain[3]["test_role"] = "ordinary"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_booked_cache(tmp_path_factory.mktemp("scan"), _book)


def _who(cache: BuiltCache, name: str) -> dict[str, Any]:
    return next(r for r in cache.customers if r.get("test_role") == name)


def _swipe(pan: str) -> DeviceEvent:
    return DeviceEvent(
        "K1", "magstripe", EventKind.card_read, CardRead(pan=pan, expiry="3012", source="stripe")
    )


async def _post(
    http: aiohttp.ClientSession, run: RunningHub, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    kiosk = run.tls.client_context("K1", "kiosk")
    async with http.post(f"{run.url}/api/v1/kiosk/{path}", json=body, ssl=kiosk) as resp:
        body = await resp.json()
        return resp.status, body.get("error", body), dict(resp.headers)


def _state(run: RunningHub) -> tuple[Any, ...]:
    """Everything a refused scan must leave alone."""
    hub = run.hub
    day = local_now().date().isoformat()
    desk = hub.lobby.appointments
    assert desk is not None
    return (
        [(t.id, t.state, t.priority) for t in hub.lobby.queue.tickets()],
        [(v.visit_id, v.walk_in, v.customer_id) for v in hub.lobby.visits.of_day(day)],
        desk.book.of_day(day),
        hub.lobby.session_wire("K1"),
        len(hub.alerts.active()),
    )


def test_an_appointment_code_checks_in_once_and_wrong_codes_change_nothing(
    tmp_path: Path, cache: BuiltCache
) -> None:
    tls = make_tls_env(tmp_path / "pki")

    async def scenario() -> None:
        async with (
            running_hub(tmp_path / "hub", tls, branch_config(), cache) as run,
            aiohttp.ClientSession() as http,
        ):
            code = appointment_code(TOKENS["today"])
            status, first, _ = await _post(http, run, "scan", {"code": code})
            assert status == 200, first
            booked = KioskSession.from_wire(first).appointment
            assert booked is not None
            assert booked.reserved
            assert not booked.repeated
            assert booked.arrival == "on_time"
            status, again, _ = await _post(http, run, "scan", {"code": f" {code}\n"})
            assert status == 200
            assert again["appointment"]["repeated"] is True
            assert again["appointment"]["ticket"]["number"] == booked.ticket.number
            tickets = run.hub.lobby.queue.tickets()
            assert len(tickets) == 1
            assert tickets[0].appointment
            assert tickets[0].priority
            visit = run.hub.lobby.visits.of_day(local_now().date().isoformat())[0]
            assert visit.identified_by == "appointment_qr"
            assert method_of(visit) == "appointment_qr"
            assert any("appointment_arrived" in a.key for a in run.hub.alerts.active())
            before = _state(run)
            wrong = [
                "hello",
                "branchedge://appointment?t=short",
                appointment_code(TOKENS["tomorrow"]),  # another day
                appointment_code(TOKENS["elsewhere"]),  # another branch's: not in our export
                appointment_code(TOKENS["today"] + "x"),
            ]
            answers = [await _post(http, run, "scan", {"code": c}) for c in wrong]
            assert {(s, b["code"]) for s, b, _ in answers} == {(404, "unknown_code")}
            assert len({str(b) for _, b, _ in answers}) == 1, "one identical answer"
            assert "预约码" in answers[0][1]["message_zh"]
            assert _state(run) == before
            for n in range(5):  # ten wrong codes in all: the bucket is empty
                assert (await _post(http, run, "scan", {"code": f"x{n}"}))[0] == 404
            status, body, headers = await _post(http, run, "scan", {"code": code})
            assert (status, body["code"]) == (429, "too_many_codes")
            assert int(headers["Retry-After"]) >= 1
            assert _state(run) == before

    asyncio.run(scenario())


def test_a_recognised_customer_upgrades_a_walk_in_ticket_by_its_qr(
    tmp_path: Path, cache: BuiltCache
) -> None:
    tls = make_tls_env(tmp_path / "pki")

    async def scenario() -> None:
        async with (
            running_hub(tmp_path / "hub", tls, guest_config(), cache) as run,
            aiohttp.ClientSession() as http,
        ):
            lobby = run.hub.lobby
            walk_in = [(await _post(http, run, "tickets", {"service": "cash"}))[1] for _ in "ab"]
            qr = walk_in[0]["ticket"]["qr"]
            assert "/t/" in qr
            status, body, _ = await _post(http, run, "session/upgrade", {"code": qr})
            assert (status, body["code"]) == (409, "session_expired"), "nobody recognised yet"
            await lobby.on_device_event(_swipe(_who(cache, "upgrade")["cards"][0]["pan"]))
            status, body, _ = await _post(http, run, "session/upgrade", {"code": qr + "x"})
            assert (status, body["code"]) == (404, "not_a_ticket")
            assert lobby.queue.ticket(walk_in[0]["ticket"]["id"]).priority is False
            status, body, _ = await _post(http, run, "session/upgrade", {"code": qr})
            assert status == 200, body
            upgraded = TicketUpgraded.from_wire(body)
            assert upgraded.outcome == "upgraded"
            assert upgraded.ticket.number == walk_in[0]["ticket"]["number"]
            moved = lobby.queue.ticket(upgraded.ticket.id)
            assert moved.priority
            assert moved.state is TicketState.WAITING
            visit = lobby.visits.get(moved.visit_ref)
            assert visit is not None
            assert not visit.walk_in
            assert visit.customer_id == _who(cache, "upgrade")["customer_id"]
            assert lobby.session_wire("K1") == {"state": "idle"}, "the session ended"
            await _refusals(http, run, cache, qr)

    asyncio.run(scenario())


async def _refusals(
    http: aiohttp.ClientSession, run: RunningHub, cache: BuiltCache, mine: str
) -> None:
    """The same customer again: their ticket is shown; another's or a called one is refused."""
    lobby = run.hub.lobby
    await lobby.on_device_event(_swipe(_who(cache, "upgrade")["cards"][0]["pan"]))
    status, body, _ = await _post(http, run, "session/upgrade", {"code": mine})
    assert (status, body["outcome"]) == (200, "already_yours")
    await lobby.on_device_event(_swipe(_who(cache, "ordinary")["cards"][0]["pan"]))
    status, body, _ = await _post(http, run, "session/upgrade", {"code": mine})
    assert (status, body["code"]) == (409, "already_identified")
    loop = asyncio.get_running_loop()
    teller = Actor("S-T", "TAB-1")
    await loop.run_in_executor(None, lobby.queue.open_counter, "C1", teller)
    called = await loop.run_in_executor(None, lobby.queue.call_next, "C1", teller)
    assert called.ticket is not None  # the upgraded ticket: priority, called first
    before = _state(run)
    status, body, _ = await _post(http, run, "session/upgrade", {"code": mine})
    assert (status, body["code"]) == (409, "ticket_not_waiting")
    assert _state(run) == before


def test_with_guest_passes_off_the_plain_reference_upgrades(
    tmp_path: Path, cache: BuiltCache
) -> None:
    tls = make_tls_env(tmp_path / "pki")

    async def scenario() -> None:
        async with (
            running_hub(tmp_path / "hub", tls, branch_config(), cache) as run,
            aiohttp.ClientSession() as http,
        ):
            lobby = run.hub.lobby
            ticket = (await _post(http, run, "tickets", {"service": "cash"}))[1]["ticket"]
            plain = ticket["qr"]
            assert plain == f"branch-edge:{run.hub.config.branch.id}:{ticket['id']}"
            await lobby.on_device_event(_swipe(_who(cache, "upgrade")["cards"][0]["pan"]))
            other = plain.replace(run.hub.config.branch.id, "SH-PD-0001")
            status, body, _ = await _post(http, run, "session/upgrade", {"code": other})
            assert (status, body["code"]) == (404, "not_a_ticket"), "another branch's ticket"
            status, body, _ = await _post(http, run, "session/upgrade", {"code": plain})
            assert (status, body["outcome"]) == (200, "upgraded")
            assert body["ticket"]["number"] == ticket["number"]

    asyncio.run(scenario())
