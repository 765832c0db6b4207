"""Nothing blocking runs on the hub's event loop: the main flows over HTTPS under blockbuster.

blockbuster wraps time.sleep, socket, file, os and sqlite3 calls and raises BlockingError when
one is made on a thread that runs an asyncio loop. The hub and the test's clients share one loop
here, so every request below is served with the detector on; any BlockingError (whether it ends
as a 500, a logged error or is swallowed) is recorded and fails the test.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import traceback
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from blockbuster import BlockingError, blockbuster_ctx

from branch_hub.provision.cli import main as provision
from sync.keys import write_key_pair
from tests.support.catalogue_hq import apply_catalogue
from tests.support.lobbyenv import (
    STAFF,
    STAFF_PIN,
    BuiltCache,
    RunningHub,
    branch_config,
    build_cache,
    running_hub,
)
from tests.support.tlsenv import TlsEnv, make_tls_env
from tests.support.wheels import make_wheel


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("loop-cache"), customers=40)


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


@pytest.fixture
def blocking_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every BlockingError raised while the test runs, with the stack that made the call."""
    seen: list[str] = []
    original = BlockingError.__init__

    def record(self: BlockingError, func: str) -> None:
        original(self, func)
        seen.append(f"{func}\n{''.join(traceback.format_stack(limit=14)[:-2])}")

    monkeypatch.setattr(BlockingError, "__init__", record)
    return seen


def _publish_kiosk_release(run: RunningHub, root: Path) -> None:
    """Sign and publish a kiosk release on the hub's own app store (test-side file I/O)."""
    root.mkdir(parents=True)
    key, pub = root / "release.key", root / "release.pub"
    write_key_pair("hq", key, pub)
    run.hub.appstore.trust(pub.read_bytes())
    make_wheel(root / "wheels", "1.0")
    argv = ["release", "--app", "kiosk", "--version", "1.0", "--signing-key", str(key),
            "--out", str(root / "releases"), "--wheels", str(root / "wheels"),
            "--min-hub-version", "0.1"]  # fmt: skip
    assert provision(argv) == 0
    run.hub.appstore.publish(root / "releases" / "kiosk-1.0", "stable")


class Calls:
    """The test's HTTPS calls, each answer's status kept to check none is a server error."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.statuses: list[tuple[str, int]] = []

    async def __call__(
        self, method: str, path: str, ssl_ctx: ssl.SSLContext, **kw: Any
    ) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.url}{path}", ssl=ssl_ctx, **kw) as resp:
            body = await resp.read()
            self.statuses.append((f"{method} {path}", resp.status))
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, body


async def _staff_flows(
    run: RunningHub, call: Calls, logins: dict[str, Any], customer: dict[str, Any]
) -> None:
    """Tickets, the event stream, visits, brief, claim, note, hand-off, outcome, the queue."""
    kiosk = logins["kiosk"]

    def staff(name: str) -> dict[str, Any]:
        ctx, headers = logins[name]
        return {"ssl_ctx": ctx, "headers": headers}

    session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
    _, vip = await call(
        "POST", "/api/v1/kiosk/tickets", kiosk,
        json={"service": "cash", "session_id": session.session_id},
    )  # fmt: skip
    _, walk_in = await call("POST", "/api/v1/kiosk/tickets", kiosk, json={"service": "cash"})
    assert vip["print"] == {"ok": True, "problem": None}  # the simulated printer printed it
    vip, walk_in = vip["ticket"], walk_in["ticket"]
    stream = run.stream()
    async with call.http.ws_connect(f"{run.url}/api/v1/events?since=0", **stream) as tws:
        _, listed = await call("GET", "/api/v1/visits?state=waiting", **staff("lobby"))
        vid = next(v["visit_id"] for v in listed["visits"] if v["ticket"]["id"] == vip["id"])
        await call("GET", f"/api/v1/visits/{vid}/brief", **staff("wealth"))
        await call("POST", f"/api/v1/visits/{vid}/claim", **staff("wealth"))
        await call("POST", f"/api/v1/visits/{vid}/notes", **staff("wealth"), json={"text": "回访"})
        await call(
            "POST", f"/api/v1/visits/{vid}/handoff", **staff("wealth"),
            json={"to_staff_id": "S-ACCOUNT", "note": "开户"},
        )  # fmt: skip
        lead = customer["leads"][0]["lead_id"]
        await call(
            "POST", f"/api/v1/visits/{vid}/leads/{lead}/outcome", **staff("account"),
            json={"outcome": "not_suitable"},
        )  # fmt: skip
        await call("GET", f"/api/v1/visits/{vid}/brief", **staff("account"))
        await call("GET", f"/api/v1/visits/{vid}/timeline", **staff("account"))
        _, called = await call("POST", "/api/v1/counters/C1/call-next", **staff("teller"))
        ticket = called["ticket"]["id"]
        await call("POST", f"/api/v1/tickets/{ticket}/recall", **staff("teller"))
        await call("POST", f"/api/v1/tickets/{ticket}/finish", **staff("teller"))
        await call("POST", "/api/v1/counters/C1/call-next", **staff("teller"))
        await call("POST", f"/api/v1/tickets/{walk_in['id']}/park", **staff("teller"))
        await call("GET", "/api/v1/queue/targets", **staff("teller"))
        await call(
            "POST", f"/api/v1/tickets/{walk_in['id']}/resume", **staff("teller"),
            json={"counter": "C1"},
        )  # fmt: skip
        await call("POST", f"/api/v1/tickets/{walk_in['id']}/finish", **staff("teller"))
        await call("GET", "/api/v1/queue/dashboard", **staff("lobby"))
        await call("GET", "/api/v1/reports/month", **staff("lobby"))
        kinds: list[str] = []
        voice: str | None = None
        async with asyncio.timeout(10):
            while kinds.count("finished") < 2:
                msg = await tws.receive_json()
                if msg.get("type") == "event":
                    kinds.append(msg["kind"])
                    if msg["kind"] == "called":
                        voice = voice or msg["data"].get("voice_id")
    assert {"arrival", "claimed", "note_added", "handoff", "called", "recalled"} <= set(kinds)
    assert vip["number"] != walk_in["number"]
    await _voice(run, call, logins["display"], voice)


async def _voice(run: RunningHub, call: Calls, display: ssl.SSLContext, voice: str | None) -> None:
    """The call's announcement WAV, once the hub has synthesised it (off the loop)."""
    if voice is None:
        return
    path = run.hub.voice.path_for(voice)
    for _ in range(150):
        if await asyncio.to_thread(path.is_file):  # the test's own file check: off the loop too
            break
        await asyncio.sleep(0.2)
    status, _ = await call("GET", f"/display/voice/{voice}.wav", display)
    assert status == 200


async def _admin_flows(run: RunningHub, call: Calls, logins: dict[str, Any]) -> None:
    """A branch administrator lists the devices and revokes one; the device is refused."""
    ctx, headers = logins["admin"]
    status, listed = await call("GET", "/api/v1/devices", ctx, headers=headers)
    assert "TV-spare" in {d["device_id"] for d in listed["devices"]}
    await call("POST", "/api/v1/devices/TV-spare/revoke", ctx, headers=headers)
    status, _ = await call("GET", "/api/v1/board", logins["spare"])
    assert status == 403


async def _device_flows(run: RunningHub, call: Calls, logins: dict[str, Any]) -> None:
    """Health, board, display files, kiosk menu and session, login/logout, catalogue, app store."""
    kiosk, display, fresh = logins["kiosk"], logins["display"], logins["fresh_tablet"]
    await call("GET", "/api/v1/health", kiosk)
    await call("GET", "/api/v1/board", display)
    for path in ("/display", "/display/app.js", "/display/style.css"):
        await call("GET", path, display)
    await call("GET", "/api/v1/kiosk/menu", kiosk)
    await call("GET", "/api/v1/kiosk/session", kiosk)
    staff_id = STAFF["lobby"][0]
    status, body = await call(
        "POST", "/api/v1/login", fresh, json={"staff_id": staff_id, "pin": STAFF_PIN}
    )
    assert status == 200
    bearer = {"Authorization": f"Bearer {body['token']}"}
    await call("POST", "/api/v1/login", fresh, json={"staff_id": staff_id, "pin": "000000"})
    await call("POST", "/api/v1/logout", fresh, headers=bearer)
    await run.hub.catalogue.refresh()  # indexes the applied catalogue in a worker thread
    status, _ = await call("GET", "/api/v1/catalogue", fresh)
    assert status == 200
    status, _ = await call("GET", "/api/v1/catalogue/products?q=理财&max_risk=R3", fresh)
    assert status == 200
    status, offer = await call("GET", "/api/v1/apps/kiosk/offer", kiosk)
    assert status == 200
    status, _ = await call(
        "GET", f"/api/v1/apps/kiosk/releases/{offer['version']}/manifest.json", kiosk
    )
    assert status == 200
    await call(
        "POST", "/api/v1/apps/kiosk/reports", kiosk,
        json={"event": "installed", "version": offer["version"], "reason": "", "detail": ""},
    )  # fmt: skip


def test_no_request_blocks_the_event_loop(
    tmp_path: Path,
    tls: TlsEnv,
    cache: BuiltCache,
    caplog: pytest.LogCaptureFixture,
    blocking_calls: list[str],
) -> None:
    customer = next(c for c in cache.customers if c["leads"] and not c["lead_declines"])
    config = branch_config(printer="sim://printer")

    async def scenario() -> Calls:
        async with running_hub(tmp_path / "hub", tls, config, cache) as run:
            # Everything the test side reads or writes on disk happens before the detector is on.
            _publish_kiosk_release(run, tmp_path / "store")
            apply_catalogue(run.hub.data_dir / "catalogue", tmp_path / "hq-catalogue")
            logins: dict[str, Any] = {name: run.staff(name) for name in STAFF}
            logins["kiosk"] = tls.client_context("K1", "kiosk")
            logins["display"] = tls.client_context("TV1", "display")
            logins["fresh_tablet"] = tls.client_context("TAB-fresh", "tablet")
            run.stream()
            run.security.staff.add("S-ADMIN", "admin", "branch_admin", STAFF_PIN)
            token = run.security.sessions.create("S-ADMIN", "branch_admin", "admin", "TAB-admin")
            logins["admin"] = (
                tls.client_context("TAB-admin", "tablet"),
                {"Authorization": f"Bearer {token}"},
            )
            logins["spare"] = tls.client_context("TV-spare", "display")
            async with aiohttp.ClientSession() as http:
                call = Calls(http, run.url)
                # No allowance: neither the hub nor aiohttp, ssl or logging on these paths
                # makes a call blockbuster counts as blocking.
                with blockbuster_ctx():
                    await _device_flows(run, call, logins)
                    await _staff_flows(run, call, logins, customer)
                    await _admin_flows(run, call, logins)
            return call

    try:
        with caplog.at_level(logging.WARNING):
            call = asyncio.run(scenario())
    finally:
        # First: a blocking call also makes later steps fail, and this names it with its stack.
        assert blocking_calls == [], "\n\n".join(blocking_calls)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in errors if "BlockingError" in f"{r.exc_text}{r.getMessage()}"]
    assert [s for s in call.statuses if s[1] >= 500] == []
    # Every flow really ran: the refusals are the wrong PIN and the revoked device's.
    assert [s for s in call.statuses if s[1] >= 400] == [
        ("POST /api/v1/login", 401),
        ("GET /api/v1/board", 403),
    ]
    assert len(call.statuses) >= 32
