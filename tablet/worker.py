"""The tablet's hub calls: jobs on an asyncio loop, in order, each answer posted to the inbox.

The loop is the app's (Kivy runs on asyncio) or, when none is given (tests that drive the
controller without a window), a private one on a thread. A job is either an async function,
awaited on the loop, or a plain callable (a sync `HubClient` call), run in the loop's executor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from branch_hub.client import HubUnavailable

__all__ = ["HubWorker", "Job", "once_more", "once_more_async"]

Job = Callable[[], Any]
_R = TypeVar("_R")


def once_more(call: Callable[[], _R]) -> _R:
    """Run `call`, and once more if the hub was unreachable (a pooled connection the hub had
    closed, e.g. after its restart); commands repeat with the same request id."""
    try:
        return call()
    except HubUnavailable:
        return call()


async def once_more_async(call: Callable[[], Awaitable[_R]]) -> _R:
    """`once_more` for a coroutine call."""
    try:
        return await call()
    except HubUnavailable:
        return await call()


class HubWorker:
    """Runs jobs one at a time on a loop; each result or failure lands in `inbox`."""

    def __init__(
        self, inbox: queue.Queue[tuple[str, Any]], loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.inbox = inbox
        self.outstanding = 0
        self._loop = loop
        self._own_thread: threading.Thread | None = None
        self._lock: asyncio.Lock | None = None
        self._pending: set[Any] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the jobs (and the event stream) run on."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._own_thread = threading.Thread(
                target=self._loop.run_forever, name="tablet-hub", daemon=True
            )
            self._own_thread.start()
        return self._loop

    def submit(self, tag: str, job: Job) -> None:
        """Queue a job; its answer arrives in the inbox as ("done" | "failed", (tag, value))."""
        self.outstanding += 1
        loop = self.loop
        if self._own_thread is not None:
            future: Any = asyncio.run_coroutine_threadsafe(self._run(tag, job), loop)
        else:
            future = loop.create_task(self._run(tag, job))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def settled(self) -> None:
        """Count one answer taken from the inbox."""
        self.outstanding = max(0, self.outstanding - 1)

    async def _run(self, tag: str, job: Job) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # in the order submitted, one at a time
            try:
                if inspect.iscoroutinefunction(job):
                    value = await job()
                else:
                    value = await asyncio.get_running_loop().run_in_executor(None, job)
                    if inspect.isawaitable(value):
                        value = await value
                self.inbox.put(("done", (tag, value)))
            except Exception as exc:  # every failure becomes a message on the UI thread
                self.inbox.put(("failed", (tag, exc)))

    async def drain(self, timeout_s: float) -> None:
        """Wait (on the app's loop) for the queued jobs to finish."""
        tasks = [t for t in self._pending if isinstance(t, asyncio.Future)]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    def stop(self, timeout_s: float) -> None:
        """Let the queued jobs finish (own loop: then end its thread; app loop: if not running)."""
        if self._own_thread is not None and self._loop is not None:
            concurrent.futures.wait(list(self._pending), timeout=timeout_s)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._own_thread.join(timeout_s)
        elif self._loop is not None and not self._loop.is_running() and self._pending:
            self._loop.run_until_complete(self.drain(timeout_s))
