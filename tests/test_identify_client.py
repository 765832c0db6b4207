"""The client's late identification against the production hub: the sync and the async call.

The lobby manager's device logs in with its PIN, a kiosk issues two walk-in tickets, and each
client identifies one: the same number, the customer's class; a retry with the same request gets
the same answer; refusals are HubRefused with the hub's code and Chinese words; the typed value
never shows in the request's repr.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from branch_hub.client import AsyncHubClient, DeviceTls, HubClient, HubRefused, Refusal
from branch_hub.client.models import IdentifyRequest, TicketRequest, TicketResult
from tests.support.lobbyenv import (
    STAFF_PIN,
    BuiltCache,
    RunningHub,
    branch_config,
    build_cache,
    running_hub,
)
from tests.support.tlsenv import TlsEnv, make_tls_env

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("identify-client-cache"), customers=200)


def _device(tls: TlsEnv, device_id: str, kind: str) -> DeviceTls:
    cert, key = tls.client(device_id, kind)
    return DeviceTls(cert, key, tls.ca_path)


def _known(cache: BuiltCache) -> list[dict[str, Any]]:
    """Three customers of a priority tier with a card."""
    return [c for c in cache.customers if c["tier"] in ("wealth", "private") and c["cards"]][:3]


def _refused(caught: pytest.ExceptionInfo[HubRefused], status: int, code: str) -> None:
    assert (caught.value.status, caught.value.code) == (status, code)
    assert _CHINESE.search(caught.value.message_zh or ""), caught.value


async def _scenario(run: RunningHub, cache: BuiltCache) -> None:
    kiosk = HubClient(run.url, _device(run.tls, "K1", "kiosk"))
    sync = HubClient(run.url, _device(run.tls, "TAB-ID1", "tablet"))
    first, second, third = [
        (await asyncio.to_thread(kiosk.issue_ticket, TicketRequest("cash"))).ticket
        for _ in range(3)
    ]
    await asyncio.to_thread(sync.login, "S-LOBBY", STAFF_PIN)
    by_id, by_card, other = _known(cache)

    # The sync client: the ticket keeps its number; the same request again, the same answer.
    request = IdentifyRequest("id_number", by_id["id_number"])
    assert by_id["id_number"] not in repr(request)
    done = await asyncio.to_thread(sync.identify_ticket, first.id, request)
    assert isinstance(done, TicketResult)
    assert done.ticket is not None
    assert (done.ticket.id, done.ticket.number, done.ticket.state) == (
        first.id,
        first.number,
        "waiting",
    )
    assert await asyncio.to_thread(sync.identify_ticket, first.id, request) == done
    again = IdentifyRequest("id_number", by_id["id_number"])
    with pytest.raises(HubRefused) as caught:
        await asyncio.to_thread(sync.identify_ticket, first.id, again)
    _refused(caught, 409, Refusal.ALREADY_IDENTIFIED)

    # The async client: an unknown card changes nothing, a known one identifies the ticket.
    client = AsyncHubClient(run.url, _device(run.tls, "TAB-ID2", "tablet"))
    try:
        await client.login("S-LOBBY", STAFF_PIN)
        seq = run.hub.stream.log.last_seq()
        with pytest.raises(HubRefused) as caught:
            await client.identify_ticket(second.id, IdentifyRequest("pan", "6200000000000000001"))
        _refused(caught, 404, "customer_not_found")
        card = IdentifyRequest("pan", by_card["cards"][0]["pan"])
        with pytest.raises(HubRefused) as caught:
            await client.identify_ticket(f"{second.id[:-4]}Z999", replace(card, request_id="x" * 8))
        _refused(caught, 404, Refusal.UNKNOWN_TICKET)
        assert run.hub.stream.log.last_seq() == seq, "a refusal pushes nothing"
        moved = await client.identify_ticket(second.id, card)
        assert moved.ticket is not None
        assert moved.ticket.number == second.number
        # Identified tickets are called first; a called walk-in is no longer waiting.
        called = [(await client.call_next("C1")).ticket for _ in range(3)]
        assert [t.id for t in called if t] == [first.id, second.id, third.id]
        late = IdentifyRequest("id_number", other["id_number"])
        with pytest.raises(HubRefused) as caught:
            await client.identify_ticket(third.id, late)
        _refused(caught, 409, Refusal.TICKET_NOT_WAITING)
    finally:
        await client.close()
        sync.close()
        kiosk.close()
    arrivals = [e.data for e in run.hub.stream.log.since(0, 1000) if e.kind == "arrival"]
    identified = [a["ticket"]["number"] for a in arrivals if a.get("identified")]
    assert identified == [first.number, second.number]


def test_both_clients_identify_a_walk_in(tmp_path: Path, cache: BuiltCache) -> None:
    async def main() -> None:
        tls = make_tls_env(tmp_path / "pki")
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            await _scenario(run, cache)

    asyncio.run(main())
