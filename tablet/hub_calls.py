"""How the tablet's verbs reach the hub: jobs on the hub worker's loop, with the sync or async client.

A job is an async function using `AsyncHubClient` (awaited on the app's loop) or a plain callable
using the sync `HubClient` (run in the loop's executor); `_command` and `_acommand` wrap one user
action of either kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from branch_hub.client import AsyncHubClient, HubClient, HubError
from tablet.device import DeviceStore
from tablet.worker import HubWorker, Job, once_more, once_more_async

__all__ = ["HubCalls"]

_R = TypeVar("_R")


class HubCalls:
    """The hub side of `Tablet`: its clients and its worker."""

    store: DeviceStore
    client: HubClient | None
    aclient: AsyncHubClient | None
    _hub_worker: HubWorker
    _aclient_generation: int = 0

    def activity(self) -> None:
        """Note a touch (the tablet's idle timer)."""

    def submit(self, tag: str, job: Job) -> None:
        """Run `job` on the hub worker; its result arrives through `pump()`."""
        self._hub_worker.submit(tag, job)

    @property
    def busy(self) -> bool:
        """True while hub calls are outstanding."""
        return self._hub_worker.outstanding > 0

    def _client(self) -> HubClient:
        if self.client is None:
            url = self.store.settings().get("hub_url")
            if not url:
                raise HubError("no hub address set")
            self.client = HubClient(str(url), self.store.tls())
        return self.client

    def _aclient(self) -> AsyncHubClient:
        """The async client, following the sync one's address, certificate and token."""
        ac = self.aclient
        if ac is None:
            first = self._client()
            ac = self.aclient = AsyncHubClient(first.base_url, first.tls)
            self._aclient_generation = first._generation
        client = self.client
        if client is None:
            return ac
        if ac.base_url != client.base_url:
            ac.move_to(client.base_url)
        elif self._aclient_generation != client._generation:
            ac.reconnect()
        self._aclient_generation = client._generation
        ac.token = client.token
        return ac

    def _drop_aclient(self) -> None:
        """Close the async client's connections on the loop (after the calls queued before)."""
        aclient, self.aclient = self.aclient, None
        if aclient is not None:
            self.submit("logout", aclient.close)

    def _command(
        self, tag: str, build: Callable[[], _R], send: Callable[[HubClient, _R], Any]
    ) -> None:
        """Send one user action: its request (and request id) is made once, reused on a retry."""
        self.activity()

        def job() -> Any:
            request = build()
            client = self._client()
            return once_more(lambda: send(client, request))

        self.submit(tag, job)

    def _acommand(
        self,
        tag: str,
        build: Callable[[], _R],
        send: Callable[[AsyncHubClient, _R], Awaitable[Any]],
    ) -> None:
        """`_command` with the async client: awaited on the loop."""
        self.activity()

        async def job() -> Any:
            request = build()
            client = self._aclient()
            return await once_more_async(lambda: send(client, request))

        self.submit(tag, job)
