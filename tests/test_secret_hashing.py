"""PIN checks run on their own bounded pool, and the heap is trimmed once after each burst."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable

from branch_hub.security.hashing import HASH_NICE, SecretHashing, malloc_trim


class _Check:
    """A stand-in for a scrypt check that notes its thread and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.threads: set[str] = set()
        self.nice: set[int] = set()

    def __call__(self, value: int) -> int:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.current_thread().name)
            self.nice.add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        time.sleep(0.02)  # long enough for the burst's checks to overlap
        with self.lock:
            self.running -= 1
        return value * 2


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(500):  # at most ~5 s
        if predicate():
            return
        await asyncio.sleep(0.01)


def test_a_burst_runs_at_most_the_pools_size_at_once_and_trims_once() -> None:
    trims: list[str] = []

    async def scenario() -> None:
        check = _Check()
        hashing = SecretHashing(2, trim=lambda: trims.append(threading.current_thread().name),
                                trim_after_s=0.05)  # fmt: skip
        try:
            assert await asyncio.gather(*(hashing.run(check, i) for i in range(8))) == [
                i * 2 for i in range(8)
            ]
            assert check.most == 2
            assert all(name.startswith("pin-check") for name in check.threads)
            loop_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            assert check.nice == {max(HASH_NICE, loop_nice)}  # they yield to the loop's thread
            await _until(lambda: hashing.trims == 1)
            await asyncio.sleep(0.2)
            assert hashing.trims == 1  # once per burst, not per check
            assert trims[0].startswith("pin-check")  # never on the event loop
            await asyncio.gather(*(hashing.run(check, i) for i in range(3)))
            await _until(lambda: hashing.trims == 2)
            assert hashing.trims == 2
        finally:
            await hashing.close()

    asyncio.run(scenario())


def test_the_old_arrangement_uses_the_shared_executor_and_never_trims() -> None:
    async def scenario() -> None:
        check = _Check()
        hashing = SecretHashing(None, trim_after_s=0.0)
        await asyncio.gather(*(hashing.run(check, i) for i in range(4)))
        await asyncio.sleep(0.05)
        assert hashing.trims == 0
        assert not any(name.startswith("pin-check") for name in check.threads)
        await hashing.close()

    asyncio.run(scenario())


def test_malloc_trim_is_safe_to_call() -> None:
    assert malloc_trim() in (True, False)  # glibc: releases what it can; elsewhere a no-op
