"""HTTPS to the hub over mutual TLS: one requests session per thread, typed errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from branch_hub.client._device_models import ErrorBody
from branch_hub.client._errors import (
    HubError,
    HubProtocolError,
    HubUnavailable,
    WireError,
    refused,
)
from branch_hub.client._tls import DeviceTls

__all__ = ["API_PREFIX", "HubTransport", "check_base", "decode_answer", "decode_parts", "segment"]

API_PREFIX = "/api/v1"
INSUFFICIENT_STORAGE = 507


def segment(value: str) -> str:
    """One path segment, percent-encoded so an id can never change the path."""
    if not isinstance(value, str) or not value:
        raise HubError("an id in the path must be non-empty text")
    return quote(value, safe="")


def check_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise HubError(f"hub address must be an https:// URL, got {base_url!r}")
    return base_url.rstrip("/")


def decode_answer(response: requests.Response) -> Any:
    """The answer's JSON, or the HubError subclass its status and body call for."""
    return decode_parts(response.status_code, response.content, str(response.reason))


def decode_parts(status: int, content: bytes, reason: str) -> Any:
    """`decode_answer` from an answer's status, body bytes and reason phrase (any HTTP client)."""
    try:
        payload = json.loads(content) if content else None
    except ValueError as exc:
        if status >= 500:
            raise HubUnavailable(f"hub answered {status}") from exc
        raise HubProtocolError(f"hub answered {status} with a body that is not JSON") from exc
    if status < 400:
        return payload
    try:
        error = ErrorBody.from_wire(payload)
    except WireError:  # not the API's error body (a proxy page, an aiohttp default): keep going
        error = ErrorBody("unknown", reason)
    # 507: the hub's disk is under its reserve and refuses this kind of write, with a message
    # for the person (the hub itself is up).
    if status >= 500 and status != INSUFFICIENT_STORAGE:
        raise HubUnavailable(f"hub failed ({status} {error.code}): {error.message}")
    raise refused(status, error.code, error.message, error.message_zh)


class _DeviceAdapter(HTTPAdapter):
    """HTTPS with the device's TLS settings; the certificate files are read per new connection."""

    def __init__(self, tls: DeviceTls) -> None:
        self._context = tls.trust_context()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Hand urllib3 the AEAD-only context."""
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


class HubTransport:
    """Send requests to one hub as an enrolled device (thread-safe: one session per thread)."""

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
        self._local = threading.local()
        self._generation = 0  # bumped when the device's certificate changes

    @property
    def websocket_base(self) -> str:
        """The wss:// form of the hub address."""
        return "wss://" + self.base_url.removeprefix("https://")

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None and self._local.generation != self._generation:
            session.close()  # its pooled connections still present the replaced certificate
            session = None
        if session is None:
            session = requests.Session()
            session.trust_env = False  # the hub is on the LAN: never route it through a proxy
            session.mount("https://", _DeviceAdapter(self.tls))
            session.cert = (str(self.tls.cert), str(self.tls.key))
            session.verify = str(self.tls.ca)
            self._local.session = session
            self._local.generation = self._generation
        return session

    def reconnect(self) -> None:
        """Open new connections from now on, in every thread (after a certificate renewal)."""
        self._generation += 1

    def move_to(self, base_url: str) -> None:
        """Talk to the hub at a new address from now on (it moved; same pinned CA)."""
        self.base_url = check_base(base_url)
        self.reconnect()

    def url(self, path: str) -> str:
        """The full URL of an API path such as '/kiosk/menu'."""
        return f"{self.base_url}{API_PREFIX}{path}"

    def _headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        return headers

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        stream: bool,
        token: str | None = None,
        waits_s: float = 0.0,
    ) -> requests.Response:
        try:
            return self._session().request(
                method,
                self.url(path),
                json=body,
                headers=self._headers(token),
                timeout=self.timeout_s + waits_s,
                stream=stream,
            )
        except requests.RequestException as exc:
            # TLS 1.3 reports a refused client certificate as a reset after the handshake,
            # so connection errors and TLS errors alike mean "cannot talk to the hub now".
            raise HubUnavailable(
                f"hub at {self.base_url} is unreachable: {type(exc).__name__}"
            ) from exc

    def request(
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
        answer = self._send(method, path, body, stream=False, token=token, waits_s=waits_s)
        return decode_answer(answer)

    @contextmanager
    def stream(self, path: str) -> Iterator[requests.Response]:
        """GET a file as a stream; a refusal raises as for `request`."""
        response = self._send("GET", path, None, stream=True)
        try:
            if response.status_code >= 400:
                decode_answer(response)
            yield response
        finally:
            response.close()

    def get(self, path: str) -> Any:
        """GET an API path and return its JSON."""
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None, *, waits_s: float = 0.0) -> Any:
        """POST JSON to an API path and return the JSON answer."""
        return self.request("POST", path, body if body is not None else {}, waits_s=waits_s)

    def close(self) -> None:
        """Close this thread's HTTP session."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None
