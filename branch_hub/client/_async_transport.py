"""HTTPS to the hub over mutual TLS on an asyncio loop (aiohttp): the same errors as HubTransport."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import aiohttp

from branch_hub.client._errors import HubProtocolError, HubUnavailable
from branch_hub.client._tls import DeviceTls
from branch_hub.client._transport import API_PREFIX, check_base, decode_parts

__all__ = ["AsyncHubTransport"]


async def _bounded(response: aiohttp.ClientResponse, path: str, max_bytes: int | None) -> bytes:
    """The answer's body, refused past `max_bytes` before all of it is read."""
    if max_bytes is None:
        return await response.read()
    body = bytearray()
    async for piece in response.content.iter_chunked(1 << 16):
        body += piece
        if len(body) > max_bytes:
            raise HubProtocolError(f"{path} is larger than {max_bytes} bytes")
    return bytes(body)


class AsyncHubTransport:
    """Send requests to one hub as an enrolled device, from one asyncio loop."""

    def __init__(
        self,
        base_url: str,
        tls: DeviceTls,
        *,
        timeout_s: float = 5.0,
        token: str | None = None,
    ) -> None:
        self.base_url = check_base(base_url)
        self.tls = tls
        self.timeout_s = timeout_s
        self.token = token
        tls.check()
        self._http: aiohttp.ClientSession | None = None

    @property
    def websocket_base(self) -> str:
        """The wss:// form of the hub address."""
        return "wss://" + self.base_url.removeprefix("https://")

    def url(self, path: str) -> str:
        """The full URL of an API path such as '/visits'."""
        return f"{self.base_url}{API_PREFIX}{path}"

    async def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            loop = asyncio.get_running_loop()
            # Reading the certificate files is file work: off the loop.
            context: ssl.SSLContext = await loop.run_in_executor(None, self.tls.ssl_context)
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context),
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                trust_env=False,  # the hub is on the LAN: never route it through a proxy
            )
        return self._http

    def _headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        return headers

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        waits_s: float = 0.0,
    ) -> Any:
        """Send one request and return the decoded JSON body; raise a HubError subclass on failure.

        `token`: a staff session's token for this request instead of the client's own;
        `waits_s`: how long the hub may wait on purpose before it answers (added to the timeout).
        """
        status, content, reason = await self._exchange(method, path, body, token, waits_s=waits_s)
        return decode_parts(status, content, reason)

    async def get_bytes(self, path: str, max_bytes: int) -> bytes:
        """GET a file's bytes (not JSON); HubProtocolError past `max_bytes`, refusals as usual."""
        status, content, reason = await self._exchange("GET", path, None, None, max_bytes)
        if status >= 400:
            decode_parts(status, content, reason)
        return content

    async def _exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        token: str | None,
        max_bytes: int | None = None,
        waits_s: float = 0.0,
    ) -> tuple[int, bytes, str]:
        http = await self._session()
        limit = aiohttp.ClientTimeout(total=self.timeout_s + waits_s)
        try:
            async with http.request(
                method, self.url(path), json=body, headers=self._headers(token), timeout=limit
            ) as response:
                content = await _bounded(response, path, max_bytes)
                status, reason = response.status, str(response.reason or "")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # As for HubTransport: a refused client certificate shows as a reset after the
            # handshake, so every connection failure means "cannot talk to the hub now".
            raise HubUnavailable(
                f"hub at {self.base_url} is unreachable: {type(exc).__name__}"
            ) from exc
        return status, content, reason

    async def get(self, path: str) -> Any:
        """GET an API path and return its JSON."""
        return await self.request("GET", path)

    async def post(
        self, path: str, body: dict[str, Any] | None = None, *, waits_s: float = 0.0
    ) -> Any:
        """POST JSON to an API path and return the JSON answer."""
        return await self.request("POST", path, body if body is not None else {}, waits_s=waits_s)

    def reconnect(self) -> None:
        """Open new connections from now on (after a certificate renewal or a move)."""
        http, self._http = self._http, None
        if http is not None and not http.closed:
            asyncio.get_running_loop().create_task(http.close())

    def move_to(self, base_url: str) -> None:
        """Talk to the hub at a new address from now on (it moved; same pinned CA)."""
        self.base_url = check_base(base_url)
        self.reconnect()

    async def close(self) -> None:
        """Close the HTTP session."""
        http, self._http = self._http, None
        if http is not None:
            await http.close()
