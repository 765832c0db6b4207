"""The counter's API over TLS: resume a parked ticket, the transfer pickers, typed refusals."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp

from branch_hub.client.models import QueueTargets, TicketResult
from tests.support.lobbyenv import RunningHub, branch_config, running_hub
from tests.support.tlsenv import make_tls_env

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


class _Teller:
    """The teller's calls to the hub (and a kiosk's, to issue walk-in tickets)."""

    def __init__(self, run: RunningHub, http: aiohttp.ClientSession) -> None:
        self.run, self.http = run, http
        self.ssl, self.headers = run.staff("teller")

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(
            method, f"{self.run.url}/api/v1{path}", ssl=self.ssl, headers=self.headers, **kw
        ) as resp:
            return resp.status, await resp.json()

    async def walk_in(self, service: str = "cash") -> dict[str, Any]:
        kiosk = self.run.tls.client_context("K1", "kiosk")
        async with self.http.post(
            f"{self.run.url}/api/v1/kiosk/tickets", json={"service": service}, ssl=kiosk
        ) as resp:
            assert resp.status == 201
            ticket: dict[str, Any] = (await resp.json())["ticket"]
            return ticket


def _refused(answer: tuple[int, Any], status: int, code: str) -> None:
    got, body = answer
    assert (got, body["error"]["code"]) == (status, code), body
    assert _CHINESE.search(body["error"]["message_zh"]), body


def _kinds(run: RunningHub, ticket_id: str) -> list[tuple[str, Any]]:
    events = run.hub.stream.log.since(0, 1000)
    return [(e.kind, e.data.get("state")) for e in events if e.data.get("ticket_id") == ticket_id]


async def _park_and_resume(run: RunningHub, teller: _Teller) -> None:
    first, second = await teller.walk_in(), await teller.walk_in()
    status, called = await teller.call("POST", "/counters/C1/call-next")
    assert (status, called["ticket"]["id"]) == (200, first["id"])
    status, parked = await teller.call("POST", f"/tickets/{first['id']}/park")
    assert parked["ticket"]["state"] == "parked"
    # Only a parked ticket comes back; a resume names its counter, one the branch has.
    _refused(
        await teller.call("POST", f"/tickets/{second['id']}/resume", json={"counter": "C1"}),
        409,
        "ticket_not_parked",
    )
    _refused(
        await teller.call("POST", f"/tickets/{first['id']}/resume", json={}), 400, "bad_counter"
    )
    _refused(
        await teller.call("POST", f"/tickets/{first['id']}/resume", json={"counter": "C99"}),
        404,
        "unknown_counter",
    )
    status, called = await teller.call("POST", "/counters/C1/call-next")
    assert called["ticket"]["id"] == second["id"]
    body = {"counter": "C1", "request_id": "resume-first-0001"}
    status, resumed = await teller.call("POST", f"/tickets/{first['id']}/resume", json=body)
    assert status == 200, resumed
    ticket = TicketResult.from_wire(resumed).ticket
    assert ticket is not None
    assert (ticket.id, ticket.state, ticket.counter_id) == (first["id"], "called", "C1")
    # The one being served was finished first, as call-next does; a retry gets the same answer.
    assert ("finished", "finished") in _kinds(run, second["id"])
    assert _kinds(run, first["id"])[-1] == ("ticket_updated", "called")
    again = await teller.call("POST", f"/tickets/{first['id']}/resume", json=body)
    assert again == (200, resumed)
    status, done = await teller.call("POST", f"/tickets/{first['id']}/finish")
    assert done["ticket"]["state"] == "finished"


async def _pickers_and_transfers(teller: _Teller) -> None:
    status, body = await teller.call("GET", "/queue/targets")
    assert status == 200
    targets = QueueTargets.from_wire(body)
    assert targets.service_name("wealth") == "理财咨询"
    c1 = next(c for c in targets.counters if c.counter_id == "C1")
    assert (c1.name_zh, c1.open, c1.serving) == ("1号窗口", True, False)
    assert [c.counter_id for c in targets.counters_for("wealth")] == ["V1"]
    ticket = await teller.walk_in()
    await teller.call("POST", "/counters/C1/call-next")
    path = f"/tickets/{ticket['id']}/transfer"
    _refused(await teller.call("POST", path, json={"service": "gold"}), 400, "unknown_service")
    _refused(await teller.call("POST", path, json={"counter": "C99"}), 404, "unknown_counter")
    _refused(
        await teller.call("POST", path, json={"service": "wealth", "counter": "C3"}),
        409,
        "not_served_here",
    )
    status, moved = await teller.call("POST", path, json={"service": "wealth", "counter": "V1"})
    assert (status, moved["ticket"]["service"], moved["ticket"]["state"]) == (
        200,
        "wealth",
        "waiting",
    )
    status, body = await teller.call("GET", "/queue/targets")
    wealth = next(s for s in QueueTargets.from_wire(body).services if s.code == "wealth")
    assert wealth.waiting == 1


def test_a_teller_parks_resumes_and_transfers_with_typed_refusals(tmp_path: Path) -> None:
    tls = make_tls_env(tmp_path / "pki")

    async def scenario() -> None:
        async with (
            running_hub(tmp_path / "hub", tls, branch_config(), None) as run,
            aiohttp.ClientSession() as http,
        ):
            teller = _Teller(run, http)
            await _park_and_resume(run, teller)
            await _pickers_and_transfers(teller)

    asyncio.run(scenario())
