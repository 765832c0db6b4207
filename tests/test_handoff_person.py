"""Hand-off to a person over TLS: the staff directory, accepting, locations, managers' alerts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.lobbyenv import (
    STAFF_PIN,
    BuiltCache,
    RunningHub,
    branch_config,
    build_cache,
    running_hub,
)
from tests.support.tlsenv import TlsEnv, make_tls_env

RM_NAME = "理财经理 王芳"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("handoff-cache"))


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


class Desk:
    """Calls to the hub as one logged-in staff member."""

    def __init__(self, http: aiohttp.ClientSession, run: RunningHub, ssl: Any, token: str) -> None:
        self.http, self.run, self.ssl = http, run, ssl
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        url = f"{self.run.url}/api/v1{path}"
        async with self.http.request(method, url, ssl=self.ssl, headers=self.headers, **kw) as r:
            return r.status, await r.json()


def _login(run: RunningHub, http: aiohttp.ClientSession, staff_id: str, role: str) -> Desk:
    device = f"TAB-{staff_id}"
    token = run.security.sessions.create(staff_id, role, staff_id, device)
    return Desk(http, run, run.tls.client_context(device, "tablet"), token)


async def _arrive(run: RunningHub, http: aiohttp.ClientSession, pan: str | None) -> str:
    session_id = None
    if pan is not None:
        session_id = (await run.lobby.identify("K1", "pan", pan)).session_id
    kiosk = run.tls.client_context("K1", "kiosk")
    body = {"service": "wealth", "session_id": session_id}
    async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
        assert resp.status == 201
        number: str = (await resp.json())["ticket"]["number"]
    return number


def _visit_of(listed: dict[str, Any], number: str) -> dict[str, Any]:
    return next(v for v in listed["visits"] if v["ticket"]["number"] == number)


def _refused(answer: tuple[int, Any], status: int, code: str) -> None:
    got, body = answer
    assert got == status, body
    assert body["error"]["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message_zh"])


def test_a_named_receiver_accepts_and_the_customer_follows(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    customer = next(c for c in cache.customers if c["relationship_manager"] and c["cards"])
    rm = customer["relationship_manager"]

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            add = run.security.staff.add
            await asyncio.to_thread(add, rm, RM_NAME, "wealth_manager", STAFF_PIN)
            async with aiohttp.ClientSession() as http:
                lobby = _login(run, http, "S-LOBBY", "lobby_manager")
                other = _login(run, http, "S-WEALTH", "wealth_manager")
                number = await _arrive(run, http, customer["cards"][0]["pan"])
                walk_in = await _arrive(run, http, None)

                status, directory = await lobby.call("GET", "/staff")
                assert status == 200
                by_id = {s["staff_id"]: s for s in directory["staff"]}
                assert by_id[rm] == {
                    "staff_id": rm,
                    "name": RM_NAME,
                    "role": "wealth_manager",
                    "on_duty": False,
                }
                assert by_id["S-LOBBY"]["on_duty"]
                assert by_id["S-WEALTH"]["on_duty"]
                assert all(
                    set(s) == {"staff_id", "name", "role", "on_duty"} for s in by_id.values()
                )

                # The customer's own manager was not logged in at the arrival: the alert waited.
                manager = _login(run, http, rm, "wealth_manager")
                status, alerts = await manager.call("GET", "/staff/me/alerts")
                assert status == 200
                assert [a["ticket"] for a in alerts["alerts"]] == [number]
                assert alerts["alerts"][0]["salutation_zh"]
                _, none = await other.call("GET", "/staff/me/alerts")
                assert none == {"alerts": []}

                _, listed = await lobby.call("GET", "/visits?state=all")
                visit_id = _visit_of(listed, number)["visit_id"]
                walk_in_id = _visit_of(listed, walk_in)["visit_id"]
                assert _visit_of(listed, number)["location"] is None
                _refused(
                    await manager.call("POST", f"/visits/{visit_id}/handoff/accept"),
                    409,
                    "no_pending_handoff",
                )
                handoff = {"to_staff_id": "nobody", "location": "vip_room"}
                _refused(
                    await lobby.call("POST", f"/visits/{visit_id}/handoff", json=handoff),
                    404,
                    "unknown_staff",
                )
                handoff = {"to_staff_id": rm, "location": "vip_room", "note": "想咨询理财"}
                status, given = await lobby.call(
                    "POST", f"/visits/{visit_id}/handoff", json=handoff
                )
                assert status == 200, given
                assert given == {
                    "visit_id": visit_id,
                    "by": "S-LOBBY",
                    "to_staff_id": rm,
                    "to_role": None,
                    "location": "vip_room",
                }
                accept = f"/visits/{visit_id}/handoff/accept"
                _refused(await other.call("POST", accept), 403, "not_handoff_receiver")
                status, accepted = await manager.call("POST", accept, json={"request_id": "a1"})
                assert status == 200
                assert accepted == {
                    "visit_id": visit_id,
                    "accepted_by": rm,
                    "by": "S-LOBBY",
                    "location": "vip_room",
                }
                assert (await manager.call("POST", accept))[0] == 200  # again: the same answer

                _, listed = await lobby.call("GET", "/visits?state=all")
                row = _visit_of(listed, number)
                assert row["location"] == "vip_room"
                assert row["handoff"]["accepted_by"] == rm
                assert row["claimed_by"] == rm
                assert _visit_of(listed, walk_in)["handoff"] is None

                # To a role: anyone of it may accept, once; the next one hears it is taken.
                to_role = {"to_role": "wealth_manager", "location": "wealth_office"}
                status, _ = await lobby.call("POST", f"/visits/{walk_in_id}/handoff", json=to_role)
                assert status == 200
                walk_accept = f"/visits/{walk_in_id}/handoff/accept"
                _refused(await lobby.call("POST", walk_accept), 403, "not_handoff_receiver")
                assert (await other.call("POST", walk_accept))[0] == 200
                _refused(await manager.call("POST", walk_accept), 409, "handoff_taken")

                dismiss = f"/staff/me/alerts/{visit_id}/dismiss"
                status, done = await manager.call("POST", dismiss)
                assert (status, done) == (200, {"visit_id": visit_id, "dismissed": True})
                _refused(await manager.call("POST", dismiss), 404, "no_manager_alert")
                assert (await manager.call("GET", "/staff/me/alerts"))[1] == {"alerts": []}

            events = run.hub.stream.log.since(0, 1000)
            kinds = [e.kind for e in events]
            assert kinds.count("manager_alert") >= 1
            alert = next(e for e in events if e.kind == "manager_alert")
            assert alert.data["staff_id"] == rm
            assert alert.data["ticket"] == number
            given_event = next(e for e in events if e.kind == "handoff")
            assert given_event.data["location"] == "vip_room"
            assert "note" not in given_event.data  # the note stays in the sealed notes
            assert [e.data["accepted_by"] for e in events if e.kind == "handoff_accepted"] == [
                rm,
                "S-WEALTH",
            ]
            box = run.hub.outbox
            queued = [(i.kind, i.payload) for i in box.for_day(box.today())]
            handed = next(p for k, p in queued if k == "handoff")
            assert handed["location"] == "vip_room"
            took = next(p for k, p in queued if k == "handoff_accepted")
            assert (took["staff_id"], took["by_staff_id"]) == (rm, "S-LOBBY")

    asyncio.run(scenario())


def test_the_manager_alert_goes_when_the_visit_ends(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    customer = next(c for c in cache.customers if c["relationship_manager"] and c["cards"])
    rm = customer["relationship_manager"]

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            add = run.security.staff.add
            await asyncio.to_thread(add, rm, RM_NAME, "wealth_manager", STAFF_PIN)
            async with aiohttp.ClientSession() as http:
                number = await _arrive(run, http, customer["cards"][0]["pan"])
                manager = _login(run, http, rm, "wealth_manager")
                assert len((await manager.call("GET", "/staff/me/alerts"))[1]["alerts"]) == 1
                status, called = await manager.call("POST", "/counters/V1/call-next")
                assert status == 200
                assert called["ticket"]["number"] == number
                ticket_id = called["ticket"]["id"]
                assert (await manager.call("POST", f"/tickets/{ticket_id}/finish"))[0] == 200
                assert (await manager.call("GET", "/staff/me/alerts"))[1] == {"alerts": []}

    asyncio.run(scenario())
