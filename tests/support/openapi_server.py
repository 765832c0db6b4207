"""The hub with its lobby served over mutual TLS from a thread, with one client per identity."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import requests

from branch_hub.security.errors import StaffError
from tests.support.lobbyenv import STAFF_PIN, RunningHub, branch_config, running_hub
from tests.support.openapi_check import Operation
from tests.support.tlsenv import TlsEnv, make_tls_env

BASE = "/api/v1"
# Identity name -> (device id, device kind); "staff" also carries S-LOBBY's session, "admin"
# a branch administrator's.
IDENTITIES = {
    "kiosk": ("K1", "kiosk"),
    "staff": ("TAB-staff", "tablet"),
    "admin": ("TAB-admin", "tablet"),
    "device": ("TAB-login", "tablet"),
    "display": ("DISP-1", "display"),
    "anonymous": ("", ""),
}


class Server:
    """The hub with its lobby, served from a thread's event loop, and the clients' identities.

    `write_limit_scale` 0 (the default) turns the devices' write rate limits off: the contract
    tests send one device far more requests than a real one (tests/test_write_limits.py tests
    the limits).
    """

    def __init__(self, folder: Path, write_limit_scale: float = 0.0) -> None:
        self.tls: TlsEnv = make_tls_env(folder / "pki")
        self.folder = folder
        self.write_limit_scale = write_limit_scale
        self.run: RunningHub | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        config = branch_config()
        hub = config.hub.model_copy(update={"write_limit_scale": self.write_limit_scale})
        config = config.model_copy(update={"hub": hub})
        async with running_hub(self.folder / "hub", self.tls, config, None) as run:
            self.run = run
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> Server:
        self._thread.start()
        assert self._ready.wait(30)
        assert self.run is not None
        # S-LOBBY (PIN: PIN) exists already: running_hub adds the test staff accounts
        self.sessions: dict[str, requests.Session] = {}
        for name, (device, kind) in IDENTITIES.items():
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override the pinned branch CA
            session.verify = str(self.tls.ca_path)
            if device:
                session.cert = tuple(str(p) for p in self.tls.client(device, kind))  # type: ignore[assignment]
            self.sessions[name] = session
        security = self.run.security
        token = security.sessions.create("S-LOBBY", "lobby_manager", "Lobby", "TAB-staff")
        self.sessions["staff"].headers["Authorization"] = f"Bearer {token}"
        with contextlib.suppress(StaffError):
            security.staff.add("S-ADMIN", "Admin", "branch_admin", STAFF_PIN)
        token = security.sessions.create("S-ADMIN", "branch_admin", "Admin", "TAB-admin")
        self.sessions["admin"].headers["Authorization"] = f"Bearer {token}"
        return self

    def __exit__(self, *exc: object) -> None:
        for session in self.sessions.values():
            session.close()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    @property
    def url(self) -> str:
        """The API's base URL."""
        assert self.run is not None
        return self.run.url + BASE

    def identity(self, op: Operation) -> str:
        """The name of the identity an operation expects (a staff device where it may)."""
        if not op.kinds:
            return "anonymous"
        if "tablet" in op.kinds:
            roles = op.spec.get("x-roles", ["lobby_manager"])
            if not op.staff:
                return "device"
            return "staff" if "lobby_manager" in roles else "admin"
        return "kiosk" if "kiosk" in op.kinds else "display"

    def client(self, op: Operation) -> requests.Session:
        """The client with the identity the operation expects."""
        return self.sessions[self.identity(op)]
