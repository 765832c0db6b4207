"""The production hub on a background thread, restartable on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from branch_hub.api import create_app
from branch_hub.api.serve import hub_ssl_context
from branch_hub.hub import Hub
from branch_hub.security.errors import StaffError
from tests.support.hubkit import open_hub
from tests.support.lobbyenv import branch_config
from tests.support.tlsenv import TlsEnv


class LoopThreadServer:
    """A server on its own event-loop thread: start, stop (like a process exit), restart on the
    same port, close. Subclasses open their stores in `_start` and release them in `_stop`."""

    call_timeout_s = 10.0

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The server's https:// address."""
        return f"https://127.0.0.1:{self.port}"

    def call(self, coro: Any, timeout_s: float | None = None) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout_s or self.call_timeout_s)

    def start(self) -> Self:
        """Open the stores and listen (on the same port again after a stop)."""
        self.call(self._start())
        return self

    def stop(self) -> None:
        """Stop as a process exit would: close every connection and the stores."""
        self.call(self._stop())

    def close(self) -> None:
        """Stop if running and end the loop thread."""
        if self.is_running:
            self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def is_running(self) -> bool:
        """True between start and stop."""
        raise NotImplementedError

    async def _start(self) -> None:
        raise NotImplementedError

    async def _stop(self) -> None:
        raise NotImplementedError


class ThreadedHub(LoopThreadServer):
    """The production hub (`build_hub` + `start_site`) over TLS on 127.0.0.1 from its own
    event-loop thread; every client certificate the test issues is enrolled."""

    def __init__(self, data: Path, tls: TlsEnv) -> None:
        self.data = data
        self.tls = tls
        self.hub: Hub | None = None
        self._runner: web.AppRunner | None = None
        super().__init__()

    @property
    def is_running(self) -> bool:
        """True between start and stop."""
        return self._runner is not None

    def emit(self, kind: str, data: dict[str, Any]) -> int:
        """Append and push an event; return its seq."""
        assert self.hub is not None
        event = self.call(self.hub.stream.emit(kind, data))
        return int(event.seq)

    def last_seq(self) -> int:
        """The newest event's seq."""
        assert self.hub is not None
        return self.hub.stream.log.last_seq()

    def login(self, device_id: str, staff_id: str = "S-LOBBY") -> str:
        """A staff session on a device (the event stream needs one); return its token."""
        assert self.hub is not None
        security = self.hub.security
        with contextlib.suppress(StaffError):
            security.staff.add(staff_id, "Lobby One", "lobby_manager", "580213")
        return security.sessions.create(staff_id, "lobby_manager", "Lobby One", device_id)

    async def _start(self) -> None:
        self.hub = open_hub(branch_config(), self.data, self.tls)
        ssl_ctx = hub_ssl_context(self.hub)
        self._runner = web.AppRunner(create_app(self.hub), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, "127.0.0.1", self.port, ssl_context=ssl_ctx, reuse_address=True
        )
        await site.start()
        await self.hub.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.hub is not None:
            await self.hub.close()
            self.hub = None
