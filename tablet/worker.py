"""The tablet's hub worker: one thread that makes hub calls in order and posts what they return."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from branch_hub.client import HubUnavailable

__all__ = ["HubWorker", "Job", "once_more"]

Job = Callable[[], Any]
_R = TypeVar("_R")


def once_more(call: Callable[[], _R]) -> _R:
    """Run `call`, and once more if the hub was unreachable (a pooled connection the hub had
    closed, e.g. after its restart); commands repeat with the same request id."""
    try:
        return call()
    except HubUnavailable:
        return call()


class HubWorker:
    """Runs jobs on one thread; each result or failure lands in `inbox` for the UI thread."""

    def __init__(self, inbox: queue.Queue[tuple[str, Any]]) -> None:
        self.inbox = inbox
        self.outstanding = 0
        self._jobs: queue.Queue[tuple[str, Job] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def submit(self, tag: str, job: Job) -> None:
        """Queue a job; its answer arrives in the inbox as ("done" | "failed", (tag, value))."""
        self.outstanding += 1
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="tablet-hub", daemon=True)
            self._thread.start()
        self._jobs.put((tag, job))

    def settled(self) -> None:
        """Count one answer taken from the inbox."""
        self.outstanding = max(0, self.outstanding - 1)

    def stop(self, timeout_s: float) -> None:
        """Let the queued jobs finish, then end the thread."""
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            tag, job = item
            try:
                self.inbox.put(("done", (tag, job())))
            except Exception as exc:  # every failure becomes a message on the UI thread
                self.inbox.put(("failed", (tag, exc)))
