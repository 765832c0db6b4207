"""PIN checks (scrypt, 32 MiB and ~0.1 s each) on their own small pool, apart from other work.

Staff logins come in bursts (every tablet and counter after a hub restart). On the loop's
shared default executor a burst filled all its threads with scrypt, ~32 MiB each, and every
other hop (request admission, health, ticket and event writes) waited behind it. Here at most
`HASH_THREADS` checks run at once, so the burst's memory is bounded and the shared pool stays
free; once the pool has been idle for `TRIM_AFTER_S`, freed heap is handed back to the OS once
(glibc `malloc_trim`), in the pool's thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

__all__ = ["HASH_NICE", "HASH_THREADS", "TRIM_AFTER_S", "SecretHashing", "malloc_trim"]

# At most this many scrypt checks at once: 2 x 32 MiB, and the hub's 2 cores.
HASH_THREADS = 2
# How long the pool must stay idle after a burst before freed memory is returned.
TRIM_AFTER_S = 0.5
# The checks' threads yield the CPU to the event loop: a person waits seconds for a login,
# health, admission and ticket writes must not wait behind scrypt on the hub's 2 cores.
HASH_NICE = 10

_T = TypeVar("_T")


def _libc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_TRIM = _libc_trim()


def _yield_cpu() -> None:
    """Lower this thread's scheduling priority (Linux nice is per thread); ignored if refused."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


def malloc_trim() -> bool:
    """Return freed heap memory to the OS; True when something was released (no-op w/o glibc)."""
    return bool(_TRIM(0)) if _TRIM is not None else False


class SecretHashing:
    """Run PIN checks on a bounded pool of their own; trim the heap once a burst is over.

    `threads=None` is the old arrangement (the loop's shared default executor, no trim),
    kept only so benches can measure against it in the same run.
    """

    def __init__(
        self,
        threads: int | None = HASH_THREADS,
        *,
        trim: Callable[[], object] = malloc_trim,
        trim_after_s: float = TRIM_AFTER_S,
    ) -> None:
        self.threads = threads
        self._pool = (
            ThreadPoolExecutor(threads, "pin-check", initializer=_yield_cpu) if threads else None
        )
        self._trim = trim
        self._trim_after_s = trim_after_s
        self._running = 0
        self._work_since_trim = False
        self._timer: asyncio.TimerHandle | None = None
        self.trims = 0  # how many times the heap was trimmed (benches and tests read it)

    async def run(self, check: Callable[..., _T], *args: object) -> _T:
        """Run `check(*args)` (a scrypt check) off the event loop, on the hashing pool."""
        loop = asyncio.get_running_loop()
        if self._pool is None:
            return await loop.run_in_executor(None, partial(check, *args))
        self._running += 1
        self._work_since_trim = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            return await loop.run_in_executor(self._pool, partial(check, *args))
        finally:
            self._running -= 1
            if self._running == 0:
                self._timer = loop.call_later(self._trim_after_s, self._idle)

    def _idle(self) -> None:
        """The pool stayed idle: trim once, in the pool's thread."""
        self._timer = None
        if self._running or not self._work_since_trim or self._pool is None:
            return
        self._work_since_trim = False
        with contextlib.suppress(RuntimeError):  # the pool was shut down meanwhile
            self._pool.submit(self._trim_now)

    def _trim_now(self) -> None:
        self._trim()
        self.trims += 1

    async def close(self) -> None:
        """Wait for running checks, then stop the pool's threads (off the event loop)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pool is not None:
            pool = self._pool
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
