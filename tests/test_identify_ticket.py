"""A walk-in's customer identifies to the lobby manager: same number, the customer's class, brief.

Over TLS against a hub built as production builds it: the ticket keeps its number and takes
the priority class as from its entry (called before ordinary tickets that came earlier), the
visit becomes recognised with a brief, the tablets get the arrival again with `identified`; every
refusal (unknown ticket, customer not found, already known, no longer waiting, bad field) is
typed with Chinese text and changes nothing.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.client.models import TicketResult
from tests.support.lobbyenv import BuiltCache, RunningHub, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env

_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_PRIORITY_TIERS = {"private", "wealth"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("identify-cache"), customers=200)


class _Lobby:
    """The lobby manager's tablet calls (and a kiosk's, to issue walk-in tickets)."""

    def __init__(self, run: RunningHub, http: aiohttp.ClientSession) -> None:
        self.run, self.http = run, http
        self.ssl, self.headers = run.staff("lobby")

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(
            method, f"{self.run.url}/api/v1{path}", ssl=self.ssl, headers=self.headers, **kw
        ) as resp:
            return resp.status, await resp.json()

    async def walk_in(self) -> dict[str, Any]:
        kiosk = self.run.tls.client_context("K1", "kiosk")
        async with self.http.post(
            f"{self.run.url}/api/v1/kiosk/tickets", json={"service": "cash"}, ssl=kiosk
        ) as resp:
            assert resp.status == 201
            ticket: dict[str, Any] = (await resp.json())["ticket"]
            return ticket


def _refused(answer: tuple[int, Any], status: int, code: str) -> None:
    got, body = answer
    assert (got, body["error"]["code"]) == (status, code), body
    assert _CHINESE.search(body["error"]["message_zh"]), body


async def _scenario(run: RunningHub, vip: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http:
        lobby = _Lobby(run, http)
        first, second = await lobby.walk_in(), await lobby.walk_in()
        path = f"/tickets/{second['id']}/identify"
        by_id = {"by": "id_number", "value": vip["id_number"], "request_id": "identify-0001"}
        seq = run.hub.stream.log.last_seq()
        queue_seq = run.lobby.queue.last_seq
        # Refusals first: each changes nothing.
        _refused(await lobby.call("POST", path, json={"by": "name", "value": "x"}), 400, "bad_by")
        unknown = {"by": "id_number", "value": "110101190001010000"}
        _refused(await lobby.call("POST", path, json=unknown), 404, "customer_not_found")
        nobody = f"/tickets/{second['id'][:9]}Z999/identify"
        _refused(await lobby.call("POST", nobody, json=by_id), 404, "unknown_ticket")
        assert (run.lobby.queue.last_seq, run.hub.stream.log.last_seq()) == (queue_seq, seq)
        status, body = await lobby.call("POST", path, json=by_id)
        assert status == 200, body
        ticket = TicketResult.from_wire(body).ticket
        assert ticket is not None
        assert (ticket.id, ticket.state) == (second["id"], "waiting")
        # The same request again gets the same answer; another one finds the customer known.
        assert await lobby.call("POST", path, json=by_id) == (200, body)
        again = by_id | {"request_id": "identify-0002"}
        _refused(await lobby.call("POST", path, json=again), 409, "already_identified")
        # The identified ticket is called before the ordinary one that came first.
        status, called = await lobby.call("POST", "/counters/C1/call-next")
        assert called["ticket"]["id"] == second["id"]
        status, called = await lobby.call("POST", "/counters/C1/call-next")
        assert called["ticket"]["id"] == first["id"]
        late = {"by": "id_number", "value": vip["id_number"]}
        _refused(
            await lobby.call("POST", f"/tickets/{first['id']}/identify", json=late),
            409,
            "ticket_not_waiting",
        )
        await _check_visit_and_push(run, lobby, second)


async def _check_visit_and_push(run: RunningHub, lobby: _Lobby, ticket: dict[str, Any]) -> None:
    status, listed = await lobby.call("GET", "/visits?state=all")
    row = next(v for v in listed["visits"] if v["ticket"]["id"] == ticket["id"])
    assert (row["walk_in"], row["priority"], row["ticket"]["number"]) == (
        False,
        True,
        ticket["number"],
    )
    assert row["salutation_zh"]
    status, brief = await lobby.call("GET", f"/visits/{row['visit_id']}/brief")
    assert status == 200, brief
    arrivals = [
        e.data
        for e in run.hub.stream.log.since(0, 1000)
        if e.kind == "arrival" and e.data.get("visit_id") == row["visit_id"]
    ]
    assert [a.get("identified", False) for a in arrivals] == [False, True]
    assert arrivals[-1]["walk_in"] is False
    assert arrivals[-1]["priority"] is True


def test_a_walk_in_identified_later_keeps_the_number_and_takes_the_class(
    tmp_path: Path, cache: BuiltCache
) -> None:
    vip = next(c for c in cache.customers if c["tier"] in _PRIORITY_TIERS and c["id_number"])
    tls = make_tls_env(tmp_path / "pki")

    async def main() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            await _scenario(run, vip)

    asyncio.run(main())


def test_the_tablet_replaces_the_walk_in_row_when_its_customer_identifies() -> None:
    """The arrival pushed again with `identified` replaces the row; a plain repeat does not."""
    from tablet.state import LiveBoard
    from tests.test_tablet_state import arrival

    board = LiveBoard()
    board.apply(arrival(1, "v1", "A001"))
    repeat = arrival(2, "v1", "A001", priority=True)
    assert board.apply(repeat) is False
    identified = arrival(3, "v1", "A001", priority=True)
    identified["data"]["identified"] = True
    assert board.apply(identified) is True
    row = board.visits["v1"]
    assert (row.walk_in, row.priority, row.salutation_zh) == (False, True, "王先生")
