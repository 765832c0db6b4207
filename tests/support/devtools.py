"""A live page in headless Chromium, driven over the DevTools protocol on loopback.

`tests/support/chromium.py` takes one screenshot after a fixed time; this keeps the page open
so a test can change something on the server, wait for the page to show it, read the page and
take a screenshot of that moment.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
import requests

from tests.support.chromium import chromium_path

_START_TIMEOUT_S = 30.0
_CALL_TIMEOUT_S = 20.0


class LivePage:
    """One page of a headless Chromium we start; use as a context manager."""

    def __init__(
        self,
        url: str,
        width: int = 1920,
        height: int = 1080,
        *,
        launch: list[str] | None = None,
        profile: Path | None = None,
    ) -> None:
        """`launch` replaces our Chromium command line (it must open a DevTools port on
        127.0.0.1 and use `profile` as its user data folder)."""
        self.url = url
        self.width = width
        self.height = height
        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self._launch = launch
        self._profile_dir = profile or Path(self._profile.name)
        self._loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    def __enter__(self) -> Self:
        binary = chromium_path()
        assert binary, "chromium is installed by ./run bootstrap"
        self._proc = subprocess.Popen(
            self._launch
            or [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--ignore-certificate-errors",  # the test CA is not in Chromium's store
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                f"--window-size={self.width},{self.height}",
                "--hide-scrollbars",
                self.url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._loop.run_until_complete(self._attach(self._target(self._port())))
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=self.width,
                height=self.height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result."""
        return self._loop.run_until_complete(
            asyncio.wait_for(self._call(method, params), _CALL_TIMEOUT_S)
        )

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its (JSON) value."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 15.0) -> Any:
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never satisfied {expression!r}")
            time.sleep(0.1)

    def screenshot(self, out: Path) -> Path:
        """Save a PNG of the page as it is now."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        out.write_bytes(base64.b64decode(data))
        return out

    def close(self) -> None:
        """Disconnect and stop the browser we started."""
        if self._ws is not None or self._session is not None:
            self._loop.run_until_complete(self._detach())
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
            self._proc = None
        self._loop.close()
        # Chromium's helper processes may still write into the profile as they exit.
        for _ in range(30):  # bounded: 3 s
            try:
                shutil.rmtree(self._profile.name)
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
            else:
                break
        self._profile.cleanup()

    def _port(self) -> int:
        active = self._profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise AssertionError(f"chromium exited with {self._proc.returncode}")
            if active.exists():
                first = active.read_text().splitlines()[:1]
                if first and first[0].isdigit():
                    return int(first[0])
            time.sleep(0.1)
        raise AssertionError("chromium did not open its DevTools port")

    def _target(self, port: int) -> str:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
            for target in targets:
                if target.get("type") == "page" and "webSocketDebuggerUrl" in target:
                    return str(target["webSocketDebuggerUrl"])
            time.sleep(0.1)
        raise AssertionError("chromium opened no page")

    async def _attach(self, ws_url: str) -> None:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024)

    async def _detach(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self._ws is not None
        ident = next(self._ids)
        await self._ws.send_json({"id": ident, "method": method, "params": params})
        while True:  # events arrive in between; the reply carries our id
            message = await self._ws.receive_json()
            if message.get("id") != ident:
                continue
            if "error" in message:
                raise AssertionError(f"{method} failed: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result
