"""The lobby manager identifies a walk-in's ticket with the ID card read at a desk's reader.

Over TLS against a hub built as production builds it, with kiosk K1 and desk D1 whose ID reader
is the project's pty simulator: the card placed after the request, or just before it, identifies
the ticket as a typed number would (same number, the customer's class, the `identified` arrival,
the audit entry); no card is refused after `[hub] desk_read_wait_s` (1 s here); a second request
at a busy desk, a kiosk named as a desk and an unknown desk are refused with Chinese text; a read
at the desk never starts a kiosk session, never makes a ticket, never reaches the read journal
or the log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.client import AsyncHubClient, DeviceTls, HubClient
from branch_hub.client.models import DeskList, IdentifyRequest, TicketResult, WireError
from branch_hub.config import BranchConfig, ConfigError, parse_config
from branch_hub.lobby.desk_reads import DeskReads
from branch_hub.lobby.errors import DeskBusy, DeskReadTimeout, UnknownDesk
from tests.support.lobbyenv import BuiltCache, RunningHub, build_cache, running_hub
from tests.support.pii_scan import scan_bytes
from tests.support.tlsenv import make_tls_env

_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_PRIORITY_TIERS = {"private", "wealth"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("desk-cache"), customers=200)


def _sample() -> dict[str, Any]:
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


def _desk_branch() -> BranchConfig:
    """The sample branch with kiosk K1 (no devices) and desk D1 (a simulated ID reader)."""
    data = _sample()
    data["stations"] = [
        {"id": "K1"},
        {"id": "D1", "role": "desk", "id_reader": "sim://idreader"},
    ]
    data["hub"]["desk_read_wait_s"] = 1
    return parse_config(data)


class _Tablet:
    """The lobby manager's tablet (and kiosk K1's walk-in tickets)."""

    def __init__(self, run: RunningHub, http: aiohttp.ClientSession) -> None:
        self.run, self.http = run, http
        self.ssl, self.headers = run.staff("lobby")

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(
            method, f"{self.run.url}/api/v1{path}", ssl=self.ssl, headers=self.headers, **kw
        ) as resp:
            return resp.status, await resp.json()

    async def walk_in(self) -> str:
        kiosk = self.run.tls.client_context("K1", "kiosk")
        async with self.http.post(
            f"{self.run.url}/api/v1/kiosk/tickets", json={"service": "cash"}, ssl=kiosk
        ) as resp:
            assert resp.status == 201
            return str((await resp.json())["ticket"]["id"])

    async def at_desk(self, ticket_id: str, station: str = "D1", **more: Any) -> tuple[int, Any]:
        body = {"by": "desk", "station": station} | more
        return await self.call("POST", f"/tickets/{ticket_id}/identify", json=body)


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(1000):  # 10 s at most
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the desk never got there")


def _refused(answer: tuple[int, Any], status: int, code: str) -> None:
    got, body = answer
    assert (got, body["error"]["code"]) == (status, code), body
    assert _CHINESE.search(body["error"]["message_zh"]), body


def _place(run: RunningHub, person: dict[str, Any]) -> None:
    reader = run.lobby.stations["D1"].sims["idreader"]
    reader.remove()
    reader.place(
        0,
        name=person["name"],
        gender=person["gender"],
        birth=person["birth_date"],
        id_number=person["id_number"],
    )


def _identified(answer: tuple[int, Any], ticket_id: str) -> None:
    status, body = answer
    assert status == 200, body
    ticket = TicketResult.from_wire(body).ticket
    assert ticket is not None
    assert (ticket.id, ticket.state) == (ticket_id, "waiting")


async def _card_after_the_request(run: RunningHub, tablet: _Tablet, vip: dict[str, Any]) -> str:
    """The request waits; the card placed then identifies the ticket."""
    ticket_id = await tablet.walk_in()
    asking = asyncio.create_task(tablet.at_desk(ticket_id, request_id="desk-after-0001"))
    await _until(lambda: run.lobby.desk_reads.waiting("D1"))
    _refused(await tablet.at_desk(await tablet.walk_in()), 409, "desk_busy")
    _place(run, vip)
    answer = await asking
    _identified(answer, ticket_id)
    # The answer was lost: the same request gets it again without another read.
    again = await tablet.at_desk(ticket_id, request_id="desk-after-0001")
    assert again == answer
    return ticket_id


async def _card_before_the_request(run: RunningHub, tablet: _Tablet, vip: dict[str, Any]) -> str:
    """Staff place the card first: alone it changes nothing; the request made then takes it."""
    ticket_id = await tablet.walk_in()
    _, before = await tablet.call("GET", "/visits?state=all")
    seq = run.hub.stream.log.last_seq()
    _place(run, vip)
    await _until(lambda: run.lobby.desk_reads.held() == 1)
    _, after = await tablet.call("GET", "/visits?state=all")
    assert after == before  # no ticket, no visit
    assert run.lobby.sessions.current("D1") is None
    assert run.lobby.reads is not None
    assert run.lobby.reads.count() == 0
    assert run.hub.stream.log.last_seq() == seq  # nothing pushed to any tablet or kiosk
    _identified(await tablet.at_desk(ticket_id), ticket_id)
    assert run.lobby.desk_reads.held() == 0  # one read identifies one ticket
    return ticket_id


async def _refusals(run: RunningHub, tablet: _Tablet) -> None:
    ticket_id = await tablet.walk_in()
    _refused(await tablet.at_desk(ticket_id), 409, "desk_read_timeout")
    _refused(await tablet.at_desk(ticket_id, station="K1"), 404, "unknown_desk")
    _refused(await tablet.at_desk(ticket_id, station="Z9"), 404, "unknown_desk")
    with_value = await tablet.at_desk(ticket_id, value="110101199003071234")
    assert (with_value[0], with_value[1]["error"]["code"]) == (400, "bad_value")
    typed_at_desk = {"by": "id_number", "value": "110101199003071234", "station": "D1"}
    status, body = await tablet.call("POST", f"/tickets/{ticket_id}/identify", json=typed_at_desk)
    assert (status, body["error"]["code"]) == (400, "bad_station")
    no_station = {"by": "desk"}
    status, body = await tablet.call("POST", f"/tickets/{ticket_id}/identify", json=no_station)
    assert (status, body["error"]["code"]) == (400, "bad_station")
    # Desk D1 is no kiosk: a kiosk certificate named D1 is refused.
    desk_kiosk = run.tls.client_context("D1", "kiosk")
    async with tablet.http.get(f"{run.url}/api/v1/kiosk/session", ssl=desk_kiosk) as resp:
        assert (resp.status, (await resp.json())["error"]["code"]) == (403, "unknown_station")


async def _clients_desks(run: RunningHub) -> tuple[DeskList, DeskList]:
    """The sync and the async client's `desks()` (a teller's counter may ask too)."""
    cert, key = run.tls.client("CTR-desks", "counter")
    token = run.security.sessions.create("S-TELLER", "teller", "teller", "CTR-desks")
    files = DeviceTls(cert, key, run.tls.ca_path)
    sync = HubClient(run.url, files, token=token)
    from_sync = await asyncio.get_running_loop().run_in_executor(None, sync.desks)
    client = AsyncHubClient(run.url, files, token=token)
    try:
        return from_sync, await client.desks()
    finally:
        await client.close()


async def _scenario(run: RunningHub, vips: list[dict[str, Any]]) -> list[str]:
    async with aiohttp.ClientSession() as http:
        tablet = _Tablet(run, http)
        status, desks = await tablet.call("GET", "/desks")
        assert status == 200
        assert DeskList.from_wire(desks).to_wire() == {
            "desks": [{"station": "D1", "readers": ["id_card"]}],
            "wait_s": 1.0,
        }
        assert await _clients_desks(run) == (DeskList.from_wire(desks),) * 2
        await _refusals(run, tablet)
        first = await _card_after_the_request(run, tablet, vips[0])
        second = await _card_before_the_request(run, tablet, vips[1])
        assert run.lobby.sessions.current("D1") is None
        assert run.lobby.reads is not None
        assert run.lobby.reads.count() == 0
        return [first, second]


def test_a_walk_in_is_identified_by_the_id_card_read_at_a_desk(
    tmp_path: Path, cache: BuiltCache, caplog: pytest.LogCaptureFixture
) -> None:
    vips = [c for c in cache.customers if c["tier"] in _PRIORITY_TIERS and c["id_number"]][:2]
    assert len(vips) == 2
    tls = make_tls_env(tmp_path / "pki")
    caplog.set_level(logging.DEBUG)

    async def main() -> tuple[list[str], list[dict[str, Any]], list[str]]:
        async with running_hub(tmp_path / "hub", tls, _desk_branch(), cache) as run:
            tickets = await _scenario(run, vips)
            events = [e.data for e in run.hub.stream.log.since(0, 1000) if e.kind == "arrival"]
            await asyncio.get_running_loop().run_in_executor(None, run.hub.relay.flush)
            audits = [
                str(e.detail.get("identified_by", ""))
                for e in run.hub.audit.entries()
                if e.action == "identification" and e.detail.get("late")
            ]
            return tickets, events, audits

    tickets, arrivals, audits = asyncio.run(main())
    identified = [a for a in arrivals if a.get("identified")]
    assert sorted(a["ticket"]["id"] for a in identified) == sorted(tickets)
    assert all(a["walk_in"] is False and a["priority"] is True for a in identified)
    assert audits == ["id_number", "id_number"]
    # The reads were never written down or logged (the visit keeps HQ's customer id only).
    numbers = [person["id_number"] for person in vips]
    files = b"".join(p.read_bytes() for p in (tmp_path / "hub").rglob("hub.db*"))
    assert files
    assert scan_bytes(files + caplog.text.encode(), numbers) == []


def test_a_desk_has_an_id_reader_and_no_printer() -> None:
    data = _sample()
    data["stations"] = [{"id": "D1", "role": "desk", "id_reader": "sim://idreader"}]
    assert parse_config(data).stations[0].role == "desk"
    data["stations"][0]["printer"] = "sim://printer"
    with pytest.raises(ConfigError) as printer:
        parse_config(data, "hub.toml")
    assert str(printer.value) == (
        "hub.toml: stations[0].printer: desk 'D1' has a printer; a desk never prints (remove it)"
    )
    data["stations"] = [{"id": "D1", "role": "desk", "card_reader": "pcsc://Reader"}]
    with pytest.raises(
        ConfigError, match=r"stations\[0\]\.id_reader: desk 'D1' needs an id_reader"
    ):
        parse_config(data)
    data["stations"] = [{"id": "D1", "role": "counter"}]
    with pytest.raises(ConfigError, match=r"stations\[0\]\.role"):
        parse_config(data)


def test_the_sample_desk_loads_when_uncommented() -> None:
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    assert "role" not in tomllib.loads(raw)["stations"][-1]  # the sample itself has no desk
    start = raw.index("# [[stations]]")
    uncommented = raw[:start] + "\n".join(
        line.removeprefix("# ") for line in raw[start:].splitlines()
    )
    desk = parse_config(tomllib.loads(uncommented)).stations[-1]
    assert (desk.id, desk.role, desk.printer) == ("D1", "desk", "none")


def test_a_held_read_counts_for_hold_s_and_a_gone_request_frees_the_desk() -> None:
    now = [100.0]
    desks = DeskReads(["D1"], wait_s=0.05, hold_s=10, clock=lambda: now[0])

    async def main() -> None:
        desks.offer("K1", "id_number", "x")  # not a desk: ignored
        assert desks.held() == 0
        desks.offer("D1", "id_number", "110101199003071234")
        now[0] += 10  # placed 10 s before the request: it still counts
        assert (await desks.next_read("D1")).kind == "id_number"
        desks.offer("D1", "id_number", "110101199003071234")
        now[0] += 10.5  # older: dropped, and nothing else comes
        with pytest.raises(DeskReadTimeout):
            await desks.next_read("D1")
        assert desks.held() == 0
        waiting = asyncio.create_task(desks.next_read("D1"))
        await _until(lambda: desks.waiting("D1"))
        with pytest.raises(DeskBusy):
            await desks.next_read("D1")
        waiting.cancel()  # the tablet went away
        await asyncio.gather(waiting, return_exceptions=True)
        assert not desks.waiting("D1")
        with pytest.raises(UnknownDesk):
            await desks.next_read("K1")

    asyncio.run(main())


def test_a_read_nobody_takes_is_forgotten_after_hold_s() -> None:
    desks = DeskReads(["D1"], hold_s=0.05)

    async def main() -> None:
        desks.offer("D1", "id_number", "110101199003071234")
        assert desks.held() == 1
        await _until(lambda: desks.held() == 0)

    asyncio.run(main())


def test_the_identify_request_takes_a_value_or_a_desk() -> None:
    typed = IdentifyRequest("id_number", "110101199003071234", request_id="r-1")
    assert typed.to_wire() == {
        "by": "id_number",
        "value": "110101199003071234",
        "request_id": "r-1",
    }
    desk = IdentifyRequest("desk", station="D1", request_id="r-2")
    assert desk.to_wire() == {"by": "desk", "station": "D1", "request_id": "r-2"}
    assert IdentifyRequest.from_wire(desk.to_wire()) == desk
    assert IdentifyRequest.from_wire(typed.to_wire()) == typed
    assert "1101" not in repr(typed)
    for wrong in (
        {"by": "desk"},
        {"by": "desk", "station": "D1", "value": "110101199003071234"},
        {"by": "id_number", "value": "110101199003071234", "station": "D1"},
        {"by": "id_number"},
        {"by": "face", "value": "x"},
    ):
        with pytest.raises(WireError):
            IdentifyRequest(**wrong)


def test_the_operations_guide_snippet_adds_a_desk() -> None:
    guide = (Path(__file__).parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    section = guide[guide.index("### A desk ID reader for the lobby manager") :]
    snippet = section[section.index("```toml") + len("```toml") : section.index("```\n", 1)]
    data = _sample()
    data["stations"] = tomllib.loads(snippet)["stations"]
    desk = parse_config(data).stations[0]
    assert (desk.id, desk.role, desk.printer) == ("D1", "desk", "none")
