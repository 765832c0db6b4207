"""Texts near the front: an opted-in customer's ticket asks HQ's SMS platform once, via the outbox.

The production hub over loopback TLS with a cache whose export marks one customer
`sms_opt_in: true`, another `false`; a teller calls the cash queue until both are served. Only
the opted-in ticket yields an `sms_request`, once, with the people then ahead; it reaches HQ's
reference collector (a real process) exactly once, even with a hub restart between the call and
the delivery and a lost acknowledgement, and `branch-sync sms-requests` lists it. No phone number
is in the hub's records for HQ. With `[sms]` off nothing is asked.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from branch_hub.config import BranchConfig, SmsSettings
from branch_hub.outbox import OutboxSender, load_or_create_signing_key
from sync.collector_store import CollectorStore
from sync.export_fields import ExportFieldError, check_card_fields, sms_opted_in
from tests.outbox_support import Hq, running
from tests.support.lobbyenv import BRANCH, BuiltCache, RunningHub, branch_config, build_cache
from tests.support.lobbyenv import running_hub as lobby_hub
from tests.support.pii_scan import scan_tree
from tests.support.tlsenv import TlsEnv, make_tls_env

AHEAD = 3
WALK_INS = 6


def _plain(customer: dict[str, Any]) -> bool:
    """A customer with a card, no priority tier and no booking (an ordinary cash ticket)."""
    return (
        bool(customer["cards"])
        and customer["tier"] in ("mass", "basic")
        and not (customer.get("appointments"))
    )


def _mark() -> Any:
    """The first ordinary customer agrees to texts, the second says no."""
    marked: list[bool] = []

    def tweak(customer: dict[str, Any]) -> None:
        if _plain(customer) and len(marked) < 2:
            customer["sms_opt_in"] = not marked
            marked.append(True)

    return tweak


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("sms-cache"), customers=40, tweak=_mark())


def _people(cache: BuiltCache) -> tuple[dict[str, Any], dict[str, Any]]:
    opted = next(c for c in cache.customers if c.get("sms_opt_in") is True)
    declined = next(c for c in cache.customers if c.get("sms_opt_in") is False)
    return opted, declined


def _config(*, enabled: bool = True) -> BranchConfig:
    config = branch_config()
    hub = config.hub.model_copy(update={"write_limit_scale": 0.0})
    sms = SmsSettings(enabled=enabled, ahead=AHEAD)
    return config.model_copy(update={"hub": hub, "sms": sms})


async def _ticket(run: RunningHub, http: aiohttp.ClientSession, pan: str | None) -> Any:
    """A cash ticket at the kiosk: for the customer whose card was read, or a walk-in."""
    body: dict[str, Any] = {"service": "cash"}
    if pan is not None:
        body["session_id"] = (await run.lobby.identify("K1", "pan", pan)).session_id
    kiosk = run.tls.client_context("K1", "kiosk")
    async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["ticket"]


async def _call(run: RunningHub, http: aiohttp.ClientSession) -> Any:
    ssl, headers = run.staff("teller")
    url = f"{run.url}/api/v1/counters/C3/call-next"
    async with http.post(url, json={}, ssl=ssl, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["ticket"]


def _requests(run: RunningHub) -> list[dict[str, Any]]:
    day = run.hub.outbox.today()
    return [i.payload for i in run.hub.outbox.for_day(day) if i.kind == "sms_request"]


async def _queue_up(run: RunningHub, cache: BuiltCache) -> tuple[Any, Any]:
    """Walk-ins, then the opted-in customer's ticket, then the one who said no."""
    opted, declined = _people(cache)
    async with aiohttp.ClientSession() as http:
        for _ in range(WALK_INS):
            await _ticket(run, http, None)
        mine = await _ticket(run, http, opted["cards"][0]["pan"])
        theirs = await _ticket(run, http, declined["cards"][0]["pan"])
    return mine, theirs


async def _call_until_asked(run: RunningHub, ticket_id: str) -> int:
    """Call the cash queue until the text is asked for; check it was asked at the crossing."""
    queue = run.hub.lobby.queue
    async with aiohttp.ClientSession() as http:
        for _ in range(WALK_INS):
            before = queue.estimate(ticket_id).ahead
            await _call(run, http)
            after = queue.estimate(ticket_id).ahead
            asked = _requests(run)
            assert len(asked) == (1 if after <= AHEAD else 0), (before, after, asked)
            if asked:
                assert before > AHEAD
                return after
    raise AssertionError("the ticket never came near the front")


async def _call_all(run: RunningHub) -> None:
    async with aiohttp.ClientSession() as http:
        while run.hub.lobby.queue.waiting("cash"):
            await _call(run, http)


def _deliver(hub_data: Path, db: Path, hq: Hq, *, lost_ack: bool = False) -> None:
    """Send the hub's outbox to HQ's collector (twice over when HQ's first 2xx is lost)."""
    from branch_hub.atrest import AtRestCipher, load_or_create_key
    from branch_hub.outbox import Outbox

    outbox = Outbox(db, AtRestCipher(load_or_create_key(hub_data / "atrest.key")))
    key = load_or_create_signing_key(hub_data.parent / "outcome_signing.key")
    sender = OutboxSender(
        outbox, collector_url=hq.url, ca_file=str(hq.ca), branch_id=BRANCH, signing_key=key
    )
    try:
        assert sender.send_due() >= 1
        if lost_ack:  # the hub died after HQ's 2xx, before it marked the records sent
            with sqlite3.connect(db) as conn:
                conn.execute("UPDATE outbox SET state = 'pending' WHERE kind = 'sms_request'")
            assert sender.send_due() == 1
        assert sender.send_due() == 0
    finally:
        sender.close()
        outbox.close()


def _listed(hq: Hq) -> list[dict[str, Any]]:
    """What `branch-sync sms-requests` prints for the branch."""
    out = subprocess.run(
        [sys.executable, "-m", "sync.cli", "sms-requests", *hq.store_args, "--branch", BRANCH],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def _hq(tmp_path: Path, database: str | None = None) -> Hq:
    (tmp_path / "hq").mkdir(exist_ok=True)
    return Hq(tmp_path / "hq", {BRANCH: tmp_path / "outcome_signing.pub"}, database)


def test_an_opted_in_customer_is_texted_once_across_a_restart(
    tmp_path: Path, cache: BuiltCache, collector_database: str | None
) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    data = tmp_path / "hub"
    opted, declined = _people(cache)

    async def first_run() -> tuple[Any, int]:
        async with lobby_hub(data, tls, _config(), cache) as run:
            mine, _ = await _queue_up(run, cache)
            ahead = await _call_until_asked(run, mine["id"])
            return mine, ahead  # the hub stops before anything reaches HQ

    async def second_run() -> None:
        async with lobby_hub(data, tls, _config(), cache) as run:
            assert len(_requests(run)) == 1
            await _call_all(run)
            assert len(_requests(run)) == 1  # called, served, no second text

    mine, ahead = asyncio.run(first_run())
    asyncio.run(second_run())
    # Every customer's phone number, the opted-in one's too, is only sealed in the hub's folder.
    assert scan_tree(data, [c["phone"] for c in cache.customers]) == []
    hq = _hq(tmp_path, collector_database)
    load_or_create_signing_key(tmp_path / "outcome_signing.key")
    with running(hq):
        _deliver(data, data / "hub.db", hq, lost_ack=True)
    listed = _listed(hq)
    assert [e["payload"] for e in listed] == [
        {
            "customer_id": opted["customer_id"],
            "ticket": mine["number"],
            "ahead": ahead,
            "service": "cash",
            "at": listed[0]["payload"]["at"],
        }
    ]
    assert ahead <= AHEAD
    assert listed[0]["branch_id"] == BRANCH
    store = CollectorStore(hq.store_target)
    with store.database.read() as tx:
        deliveries = tx.all("SELECT deliveries FROM events WHERE kind = 'sms_request'")
    store.close()
    assert deliveries == [(2,)]  # the resend was acknowledged and ignored
    text = json.dumps(listed)
    assert opted["phone"] not in text
    assert opted["name"] not in text
    assert declined["customer_id"] not in text


def test_a_walk_in_identified_later_is_texted_too(tmp_path: Path, cache: BuiltCache) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    opted, _ = _people(cache)

    async def scenario() -> None:
        async with lobby_hub(tmp_path / "hub", tls, _config(), cache) as run:
            async with aiohttp.ClientSession() as http:
                for _ in range(WALK_INS):
                    await _ticket(run, http, None)
                late = await _ticket(run, http, None)
                ssl, headers = run.staff("lobby")
                url = f"{run.url}/api/v1/tickets/{late['id']}/identify"
                body = {"by": "id_number", "value": opted["id_number"]}
                async with http.post(url, json=body, ssl=ssl, headers=headers) as resp:
                    assert resp.status == 200, await resp.text()
            ahead = await _call_until_asked(run, late["id"])
            [asked] = _requests(run)
            assert (asked["customer_id"], asked["ticket"], asked["ahead"]) == (
                opted["customer_id"],
                late["number"],
                ahead,
            )

    asyncio.run(scenario())


def test_with_texts_off_nothing_is_asked(tmp_path: Path, cache: BuiltCache) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")

    async def scenario() -> None:
        async with lobby_hub(tmp_path / "hub", tls, _config(enabled=False), cache) as run:
            await _queue_up(run, cache)
            await _call_all(run)
            assert _requests(run) == []

    asyncio.run(scenario())


_NOT_BOOL = st.one_of(
    st.integers(),
    st.text(max_size=8),
    st.floats(allow_nan=False),
    st.lists(st.booleans(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.booleans(), max_size=2),
)


@given(value=st.one_of(st.booleans(), st.none(), _NOT_BOOL))
def test_the_export_field_is_true_false_or_absent(value: Any) -> None:
    customer = {"customer_id": "C1", "sms_opt_in": value}
    if value is None or isinstance(value, bool):
        check_card_fields(customer)
    else:
        with pytest.raises(ExportFieldError) as refused:
            check_card_fields(customer)
        assert refused.value.field == "sms_opt_in"
        assert str(refused.value) == "sms_opt_in must be true or false"  # never the value
    assert sms_opted_in(customer) is (value is True)
    assert not sms_opted_in({"customer_id": "C1"})
    assert not sms_opted_in(None)
