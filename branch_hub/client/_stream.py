"""A WebSocket subscription to the hub, reconnecting with backoff: on its own thread or as a task
on a given asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import aiohttp

from branch_hub.client._backoff import Backoff
from branch_hub.client._errors import HubError
from branch_hub.client._transport import API_PREFIX, HubTransport
from branch_hub.vocabulary import WS_CLOSE_SESSION_ENDED

if TYPE_CHECKING:
    from branch_hub.client._async_transport import AsyncHubTransport

__all__ = ["EventStream", "StreamNotice"]

NoticeKind = Literal["connected", "disconnected", "message", "resync", "session_ended"]


@dataclass(frozen=True)
class StreamNotice:
    """What the stream reports: a connection change, a message, a resync request, or that the
    staff session ended (the stream then stops: log in again and start a new one)."""

    kind: NoticeKind
    data: dict[str, Any] = field(default_factory=dict)


class EventStream:
    """Keep a WebSocket to `path` open and hand every JSON message to `on_notice` (or `notices`).

    With `resume=True` (the staff event stream) it remembers the last `seq` seen and reconnects
    with `?since=` so nothing is missed across a disconnect or a hub restart.
    Callbacks run on the stream's thread (`start`) or on the loop it runs on (`start_on`).
    """

    def __init__(
        self,
        client: HubTransport | AsyncHubTransport,
        path: str,
        *,
        on_notice: Callable[[StreamNotice], None] | None = None,
        resume: bool = False,
        since: int | None = None,
        backoff: Backoff | None = None,
        heartbeat_s: float = 5.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.client = client
        self.path = path
        self.resume = resume
        self.backoff = backoff or Backoff()
        self.heartbeat_s = heartbeat_s
        self.connect_timeout_s = connect_timeout_s
        self.notices: queue.Queue[StreamNotice] = queue.Queue()
        self._on_notice = on_notice or self.notices.put
        self._last_seq = since
        self._connected: bool | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._session_ended = False

    @property
    def last_seq(self) -> int | None:
        """The last event sequence number seen (resume streams only)."""
        return self._last_seq

    @property
    def connected(self) -> bool:
        """True while the WebSocket is open."""
        return bool(self._connected)

    def url(self) -> str:
        """The WebSocket URL of the next connection attempt."""
        url = f"{self.client.websocket_base}{API_PREFIX}{self.path}"
        if self.resume and self._last_seq is not None:
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}since={self._last_seq}"
        return url

    def start(self) -> EventStream:
        """Start the background thread (returns self)."""
        if self._thread is not None:
            raise HubError("event stream already started")
        self.client.tls.check()
        self._thread = threading.Thread(target=self._thread_main, name="hub-events", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)
        return self

    def start_on(self, loop: asyncio.AbstractEventLoop) -> EventStream:
        """Run as a task on `loop` (the app's loop, or one running on another thread)."""
        if self._thread is not None or self._task is not None:
            raise HubError("event stream already started")
        self.client.tls.check()
        self._loop = loop
        self._stop = asyncio.Event()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop or not loop.is_running():
            self._task = loop.create_task(self._guarded())
        else:
            self._task = asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self._guarded(), loop), loop=loop
            )
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the WebSocket and end the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _thread_main(self) -> None:
        asyncio.run(self._guarded())

    async def _guarded(self) -> None:
        try:
            await self._run()
        except HubError as exc:  # unusable TLS files: report once instead of dying silently
            self._ready.set()
            self._set_connected(False, str(exc))

    def _emit(self, kind: NoticeKind, data: dict[str, Any] | None = None) -> None:
        self._on_notice(StreamNotice(kind, data or {}))

    def _set_connected(self, up: bool, reason: str = "") -> None:
        if self._connected is up:
            return
        self._connected = up
        self._emit("connected" if up else "disconnected", {"reason": reason} if reason else {})

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._stop is None:
            self._stop = asyncio.Event()
        self._ready.set()
        # Reading the certificate files is file work: off the loop (it may be the app's).
        ssl_context = await self._loop.run_in_executor(None, self.client.tls.ssl_context)
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.connect_timeout_s, sock_connect=self.connect_timeout_s
        )
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as http:
            while not self._stop.is_set():
                reason = await self._connect_once(http, ssl_context)
                self._set_connected(False, reason)
                if self._session_ended:
                    # Reconnecting with the same token would only be refused: a login is needed.
                    self._emit("session_ended", {"code": WS_CLOSE_SESSION_ENDED})
                    break
                if self._stop.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.backoff.next())

    async def _connect_once(self, http: aiohttp.ClientSession, ssl_context: Any) -> str:
        if self._stop is None:
            return "not started"
        try:
            # The staff event stream needs the staff session.
            token = self.client.token
            headers = {"Authorization": f"Bearer {token}"} if token else None
            async with http.ws_connect(
                self.url(),
                ssl=ssl_context,
                heartbeat=self.heartbeat_s,
                max_msg_size=1 << 20,
                headers=headers,
            ) as ws:
                self.backoff.reset()
                self._set_connected(True)
                stopper = asyncio.create_task(self._stop.wait())
                reader = asyncio.create_task(self._read(ws))
                try:
                    done, _ = await asyncio.wait(
                        {reader, stopper}, return_when=asyncio.FIRST_COMPLETED
                    )
                    return reader.result() if reader in done else "stopped"
                finally:
                    stopper.cancel()
                    reader.cancel()
        except aiohttp.WSServerHandshakeError as exc:
            return f"refused ({exc.status})"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return type(exc).__name__

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Hand over every message until the socket closes. One task for the connection: the
        messages already received are handed over without a loop turn each (on an app's loop
        that turns once a frame, a burst is taken in one frame)."""
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                self._handle_text(msg.data)
            elif msg.type != aiohttp.WSMsgType.BINARY:
                self._session_ended = ws.close_code == WS_CLOSE_SESSION_ENDED
                return f"closed ({ws.close_code})"

    def _handle_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return  # not JSON: nothing the API sends; ignore rather than drop the connection
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        seq = message.get("seq")
        if kind == "resync":
            hub_last = message.get("last_seq")
            if message.get("reason") in ("unknown_seq", "pruned") and isinstance(hub_last, int):
                # The hub's log is behind ours, or the events we lack are gone: the app reloads
                # over REST and the stream starts again from the hub's end.
                self._last_seq = hub_last
            self._emit("resync", message)
            return
        if isinstance(seq, int) and not isinstance(seq, bool) and kind in ("event", "live"):
            self._last_seq = seq
        self._emit("message", message)
