"""CONTRACT STUB of the hub's kiosk endpoints (api-contract.md, "Kiosk"), for kiosk tests.

Not the hub: a small aiohttp TLS server on loopback that answers exactly as the contract says,
with test controls (sense a card, recognise it, fail a read, run out of paper, restart).
It runs on its own thread so Kivy can own the main thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from branch_hub.context import server_ssl_context
from tests.support.tlsenv import TlsEnv

SERVICES = [
    ("cash", "现金业务", "Cash deposit & withdrawal", "A", 5),
    ("account", "开户及账户服务", "Accounts & cards", "B", 12),
    ("wealth", "理财咨询", "Wealth advice", "C", 20),
    ("loan", "个人贷款", "Personal loans", "D", 15),
]


@dataclass
class StubState:
    """What the stub hub knows; tests change it directly."""

    waiting: dict[str, int] = field(default_factory=lambda: {s[0]: 2 for s in SERVICES})
    session: dict[str, Any] | None = None
    printer_problem: str | None = None
    numbers: dict[str, itertools.count[int]] = field(default_factory=dict)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    ended: int = 0


class KioskContractStub:
    """Start/stop a TLS server on 127.0.0.1 with the kiosk endpoints of the contract."""

    def __init__(self, tls: TlsEnv, port: int = 0) -> None:
        self.tls = tls
        self.port = port
        self.state = StubState()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def url(self) -> str:
        """The stub's https:// address."""
        return f"https://127.0.0.1:{self.port}"

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(10)

    def start(self) -> KioskContractStub:
        """Listen (on the same port again after a stop)."""
        self._call(self._start())
        return self

    def stop(self) -> None:
        """Stop listening and drop every WebSocket, as a hub process exit would."""
        self._call(self._stop())

    def close(self) -> None:
        """Stop and end the stub's thread."""
        with contextlib.suppress(Exception):
            self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def push(self, kind: str, data: dict[str, Any]) -> None:
        """Send a kiosk event to every connected kiosk."""
        self._call(self._push({"kind": kind, "data": data}))

    # --- test controls -------------------------------------------------------------------
    def sense_card(self) -> None:
        """A card is in the reader: session 'reading' plus kiosk.card_sensed."""
        self.state.session = {
            "session_id": "s-1",
            "state": "reading",
            "greeting": None,
            "problem": None,
            "expires_in_s": 60,
        }
        self.push("kiosk.card_sensed", {"session_id": "s-1"})

    def recognise(self, salutation_zh: str, salutation_en: str, priority: bool) -> None:
        """The card belongs to a known customer."""
        greeting = {
            "salutation_zh": salutation_zh,
            "salutation_en": salutation_en,
            "priority": priority,
            "tier_zh": "钻石" if priority else "普通",
            "tier_en": "Diamond" if priority else "Standard",
        }
        self.state.session = {
            "session_id": "s-1",
            "state": "recognised",
            "greeting": greeting,
            "problem": None,
            "expires_in_s": 60,
        }
        self.push("kiosk.session", self.state.session)

    def fail_read(self, problem: str = "unreadable") -> None:
        """The read failed."""
        self.state.session = {
            "session_id": "s-1",
            "state": "read_failed",
            "greeting": None,
            "problem": problem,
            "expires_in_s": 60,
        }
        self.push("kiosk.session", self.state.session)

    # --- server --------------------------------------------------------------------------
    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/kiosk/menu", self._menu)
        app.router.add_get("/api/v1/kiosk/session", self._session)
        app.router.add_get("/api/v1/kiosk/events", self._events)
        app.router.add_post("/api/v1/kiosk/tickets", self._ticket)
        app.router.add_post("/api/v1/kiosk/session/end", self._end)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        ssl_ctx = server_ssl_context(
            str(self.tls.server_cert), str(self.tls.server_key), str(self.tls.ca_path), True
        )
        site = web.TCPSite(
            self._runner, "127.0.0.1", self.port, ssl_context=ssl_ctx, reuse_address=True
        )
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _push(self, message: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json(message)

    async def _menu(self, _request: web.Request) -> web.Response:
        services = [
            {
                "code": code,
                "name_zh": zh,
                "name_en": en,
                "prefix": prefix,
                "waiting": self.state.waiting[code],
                "wait_min": [
                    self.state.waiting[code] * minutes // 2,
                    self.state.waiting[code] * minutes,
                ],
            }
            for code, zh, en, prefix, minutes in SERVICES
        ]
        branch = {
            "id": "TEST-BR",
            "name_zh": "示例银行测试支行",
            "name_en": "Example Bank Test Sub-branch",
        }
        return web.json_response({"branch": branch, "services": services})

    async def _session(self, _request: web.Request) -> web.Response:
        return web.json_response(self.state.session or {"state": "idle"})

    async def _end(self, _request: web.Request) -> web.Response:
        self.state.session = None
        self.state.ended += 1
        return web.json_response({"ok": True})

    async def _ticket(self, request: web.Request) -> web.Response:
        body = await request.json()
        service = next((s for s in SERVICES if s[0] == body.get("service")), None)
        if service is None:
            return web.json_response(
                {"error": {"code": "unknown_service", "message": "no such service"}}, status=400
            )
        code, zh, en, prefix, minutes = service
        counter = self.state.numbers.setdefault(code, itertools.count(1))
        number = f"{prefix}{next(counter):03d}"
        ahead = self.state.waiting[code]
        self.state.waiting[code] += 1
        priority = bool(
            self.state.session
            and body.get("session_id") == self.state.session.get("session_id")
            and (self.state.session.get("greeting") or {}).get("priority")
        )
        ticket = {
            "id": f"t-{len(self.state.tickets) + 1}",
            "number": number,
            "service": code,
            "service_zh": zh,
            "service_en": en,
            "people_ahead": 0 if priority else ahead,
            "wait_min": [0, minutes] if priority else [ahead * minutes // 2, ahead * minutes],
            "qr": f"https://127.0.0.1/q/{number}",
            "issued_at": "2026-11-23T09:00:00+08:00",
        }
        self.state.tickets.append({**ticket, "session_id": body.get("session_id")})
        self.state.session = None  # the ticket closes the card session
        problem = self.state.printer_problem
        return web.json_response(
            {"ticket": ticket, "print": {"ok": problem is None, "problem": problem}}, status=201
        )

    async def _events(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=5.0)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            self._sockets.discard(ws)
        return ws
