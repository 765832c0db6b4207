"""REST calls to the hub over mutual TLS, with typed errors."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

import requests

from branch_hub.client._errors import HubError, HubProtocolError, HubRejected, HubUnavailable
from branch_hub.client._tls import DeviceTls

__all__ = ["HubClient"]

API_PREFIX = "/api/v1"


def _check_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise HubError(f"hub address must be an https:// URL, got {base_url!r}")
    return base_url.rstrip("/")


class HubClient:
    """Talk to one hub's REST API as an enrolled device (thread-safe: one session per thread)."""

    def __init__(
        self,
        base_url: str,
        tls: DeviceTls,
        *,
        timeout_s: float = 5.0,
        token: str | None = None,
    ) -> None:
        self.base_url = _check_base(base_url)
        self.tls = tls
        self.timeout_s = timeout_s
        self.token = token
        tls.check()
        self._local = threading.local()

    @property
    def websocket_base(self) -> str:
        """The wss:// form of the hub address."""
        return "wss://" + self.base_url.removeprefix("https://")

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # the hub is on the LAN: never route it through a proxy
            session.cert = (str(self.tls.cert), str(self.tls.key))
            session.verify = str(self.tls.ca)
            self._local.session = session
        return session

    def url(self, path: str) -> str:
        """The full URL of an API path such as '/kiosk/menu'."""
        return f"{self.base_url}{API_PREFIX}{path}"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one request and return the decoded JSON body; raise a HubError subclass on failure."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._session().request(
                method, self.url(path), json=body, headers=headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            # TLS 1.3 reports a refused client certificate as a reset after the handshake,
            # so connection errors and TLS errors alike mean "cannot talk to the hub now".
            raise HubUnavailable(
                f"hub at {self.base_url} is unreachable: {type(exc).__name__}"
            ) from exc
        return self._decode(response)

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        try:
            payload = response.json() if response.content else None
        except (ValueError, json.JSONDecodeError) as exc:
            if response.status_code >= 500:
                raise HubUnavailable(f"hub answered {response.status_code}") from exc
            raise HubProtocolError(
                f"hub answered {response.status_code} with a body that is not JSON"
            ) from exc
        if response.status_code < 400:
            return payload
        error = payload.get("error") if isinstance(payload, dict) else None
        code = str(error.get("code", "unknown")) if isinstance(error, dict) else "unknown"
        message = (
            str(error.get("message", response.reason))
            if isinstance(error, dict)
            else str(response.reason)
        )
        message_zh = error.get("message_zh") if isinstance(error, dict) else None
        if response.status_code >= 500:
            raise HubUnavailable(f"hub failed ({response.status_code} {code}): {message}")
        raise HubRejected(
            response.status_code, code, message, str(message_zh) if message_zh else None
        )

    def get(self, path: str) -> Any:
        """GET an API path and return its JSON."""
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST JSON to an API path and return the JSON answer."""
        return self.request("POST", path, body if body is not None else {})

    def login(self, staff_id: str, pin: str) -> dict[str, Any]:
        """Open a staff session on this device; later requests carry its token."""
        answer = self.post("/login", {"staff_id": staff_id, "pin": pin})
        if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
            raise HubProtocolError("login answer carries no token")
        self.token = answer["token"]
        return answer

    def logout(self) -> None:
        """Close the staff session (and forget the token even if the hub cannot be told)."""
        try:
            if self.token:
                self.post("/logout")
        finally:
            self.token = None

    def health(self) -> dict[str, Any]:
        """The hub's health report."""
        answer = self.get("/health")
        if not isinstance(answer, dict):
            raise HubProtocolError("health answer is not a JSON object")
        return answer

    def close(self) -> None:
        """Close this thread's HTTP session."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None
