"""One thread that writes handed-in audit entries, so no caller ever waits for the database.

`submit` puts an entry on a bounded queue and returns; the thread takes everything queued, writes
it in one transaction (waiting there for another process's SQLite lock, retrying with back-off
on errors) and counts it done. `flush` waits until all entries handed in so far are done.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from branch_common.backoff import Backoff
from branch_hub.security.errors import AuditError

__all__ = ["AuditBacklogFull", "AuditNotWritten", "EntryWriter"]

log = logging.getLogger("branch_hub.security.audit")

T = TypeVar("T")


class AuditBacklogFull(AuditError):
    """The writer's queue is full (the database has been unwritable for long): entry refused."""


class AuditNotWritten(AuditError):
    """Entries handed in were not written within the time waited (the log is not broken)."""


class EntryWriter(Generic[T]):
    """Hand entries to one writer thread; `write(batch)` runs in that thread only."""

    def __init__(
        self,
        write: Callable[[Sequence[T]], None],
        *,
        capacity: int = 10_000,
        batch: int = 500,
        backoff: Backoff | None = None,
        name: str = "audit-writer",
    ) -> None:
        if capacity < 1 or batch < 1:
            raise ValueError("the audit writer needs room for at least one entry")
        self._write = write
        self._capacity = capacity
        self._batch = batch
        self._backoff = backoff or Backoff(first=0.05, cap=2.0)
        self._name = name
        self._cond = threading.Condition()
        self._queue: deque[T] = deque()
        self._handed = 0
        self._done = 0
        self._accepting = True
        self._closed = False
        self._problem: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def backlog(self) -> int:
        """Entries handed in and not yet written."""
        with self._cond:
            return self._handed - self._done

    def submit(self, entry: T) -> None:
        """Queue one entry for the thread (never waits); AuditError if closed or full."""
        with self._cond:
            if not self._accepting:
                raise AuditError("the audit log is closed")
            if len(self._queue) >= self._capacity:
                raise AuditBacklogFull(
                    f"{len(self._queue)} audit entries wait for the database; entry refused"
                )
            self._queue.append(entry)
            self._handed += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until every entry handed in so far is written; AuditError on timeout."""
        with self._cond:
            target = self._handed
            if not self._cond.wait_for(lambda: self._done >= target, timeout):
                left = target - self._done
                why = f" (last problem: {self._problem})" if self._problem else ""
                raise AuditNotWritten(f"{left} audit entries are not written yet{why}")

    def close(self, timeout: float | None = 30.0) -> None:
        """Refuse new entries, flush, stop the thread (AuditError, after stopping, if any are left)."""
        with self._cond:
            self._accepting = False
        try:
            self.flush(timeout)
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
                thread = self._thread
            if thread is not None:
                thread.join(timeout=5.0)

    def _take(self) -> list[T] | None:
        """Wait for entries and take up to a batch of them; None when closed."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._queue) or self._closed)
            if self._closed:
                return None
            count = min(len(self._queue), self._batch)
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            if not self._write_until_done(batch):
                return
            with self._cond:
                self._done += len(batch)
                self._problem = None
                self._cond.notify_all()

    def _write_until_done(self, batch: list[T]) -> bool:
        """Write one batch, retrying on errors; False if closed before it could be written."""
        self._backoff.reset()
        while True:
            try:
                self._write(batch)
            except Exception as exc:  # retried: the entries must not be lost
                # The type and SQLite's message only: they never carry the entry's fields.
                problem = f"{type(exc).__name__}: {exc}"
                log.warning("audit write failed, retrying: %s", problem)
                with self._cond:
                    self._problem = problem
                    if self._cond.wait_for(lambda: self._closed, self._backoff.next()):
                        return False
            else:
                return True
