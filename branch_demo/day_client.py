"""How the branch day's devices talk to the hub: one enrolled device, retrying through restarts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from branch_demo.site import PIN, BranchSite

__all__ = ["RETRY_S", "Hub"]

RETRY_S = 60.0  # real seconds a client keeps retrying while the hub restarts


class Hub:
    """Talk to the hub as one enrolled device, retrying through restarts."""

    def __init__(self, site: BranchSite, device: str, staff: str | None = None) -> None:
        self.site = site
        self.device = device
        self.staff = staff
        self.ssl = site.device_context(device)
        self.token: str | None = None
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.ssl, limit=4),
            timeout=aiohttp.ClientTimeout(total=20),
        )

    async def login(self) -> None:
        """Log the staff member in on this device."""
        async with self.session.post(
            f"{self.site.url}/api/v1/login", json={"staff_id": self.staff, "pin": PIN}
        ) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"login {self.staff}: {resp.status} {body}")
            self.token = body["token"]

    def headers(self) -> dict[str, str]:
        """The bearer header when logged in."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(
        self, method: str, path: str, body: Any = None, *, retry: bool = True
    ) -> tuple[int, Any]:
        """One request; on a connection error or a lost session, wait for the hub and retry."""
        deadline = time.monotonic() + RETRY_S
        while True:
            try:
                if self.staff and self.token is None:
                    await self.login()
                async with self.session.request(
                    method, f"{self.site.url}{path}", json=body, headers=self.headers()
                ) as resp:
                    data = await resp.json(content_type=None)
                    if resp.status == 401 and self.staff:
                        self.token = None  # sessions live in the hub's memory: log in again
                        continue
                    return resp.status, data
            except (aiohttp.ClientError, TimeoutError, RuntimeError):
                if not retry or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.session.close()
