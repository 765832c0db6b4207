"""The hub-side outbox as a stand-alone process, for the outbox's crash and restart tests.

`python -m tests.support.outbox_process ...` queues a simulated business day and/or drains it to
HQ. `--crash-after-ack N` dies like kill -9 right after HQ's N-th 2xx, before the outbox marks
the event sent: the window that makes a resend (and HQ's deduplication) necessary. The fault is
injected here, by wrapping the real method, so production code carries no test hooks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from branch_common.backoff import Backoff
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.outbox import Outbox, OutboxError, OutboxSender, load_or_create_signing_key


def _crash_after(outbox: Outbox, acks: int) -> None:
    """Make the outbox die like kill -9 when it is about to record HQ's `acks`-th 2xx."""
    left = iter(range(acks - 1, -1, -1))
    mark_sent = outbox.mark_sent

    def crash_then_mark(row: int) -> None:
        if next(left, 0) == 0:
            os._exit(137)  # no cleanup, no commit
        mark_sent(row)

    outbox.mark_sent = crash_then_mark  # type: ignore[method-assign]


def _simulate(args: argparse.Namespace) -> int:
    """Run a hub-side outbox process: queue a simulated business day and/or drain to HQ."""
    cipher = AtRestCipher(load_or_create_key(args.atrest_key))
    outbox = Outbox(args.db, cipher, timezone=args.timezone)
    if args.crash_after_ack:
        _crash_after(outbox, args.crash_after_ack)
    key = load_or_create_signing_key(args.signing_key)
    stop = asyncio.Event()
    day = date.fromisoformat(args.day)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        import signal

        loop.add_signal_handler(signal.SIGTERM, stop.set)
        sender = None
        task = None
        if args.collector:
            sender = OutboxSender(
                outbox,
                collector_url=args.collector,
                ca_file=args.ca,
                branch_id=args.branch_id,
                signing_key=key,
                batch_dir=args.batch_dir,
                backoff=Backoff(first=args.backoff_base, cap=args.backoff_cap, jitter=0.25),
                poll_s=0.05,
                timeout_s=2.0,
            )
            task = asyncio.create_task(sender.run(stop))
        start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
        for i in range(args.first, args.events):
            at = datetime.fromtimestamp(start.timestamp() + i * 30, UTC).isoformat()
            kinds = ("lead_outcome", "claim", "handoff", "note")
            kind = kinds[i % 4]
            payload = {
                "customer_id": f"C{i % 997:07d}",
                "lead_id": f"L{i:06d}",
                "outcome": "accepted",
                "staff_id": f"S{i % 7:03d}",
                "to_role": "wealth_manager",
                "note": f"synthetic hand-off {i}",
                "at": at,
            }
            await loop.run_in_executor(
                None, outbox.enqueue, kind, payload, f"{args.branch_id}-{args.day}-{i:06d}"
            )
            if sender is not None:
                sender.wake()
            print(f"queued {i}", flush=True)
            if args.pace_s:
                await asyncio.sleep(args.pace_s)
        print("all queued", flush=True)
        if task is not None:
            while not stop.is_set():
                s = await loop.run_in_executor(None, outbox.stats)
                batches_left = args.wait_batch and outbox.days_awaiting_batch(outbox.today())
                if s["pending"] == 0 and not batches_left:
                    break
                await asyncio.sleep(0.05)
            print("stopped" if stop.is_set() else "drained", flush=True)
            stop.set()
            await task

    asyncio.run(main())
    outbox.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the outbox process for a test."""
    p = argparse.ArgumentParser(
        prog="python -m tests.support.outbox_process", description=_simulate.__doc__
    )
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--atrest-key", type=Path, required=True)
    p.add_argument("--signing-key", type=Path, required=True)
    p.add_argument("--branch-id", default="B001")
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--day", default=date.today().isoformat())
    p.add_argument("--first", type=int, default=0, help="first synthetic event index")
    p.add_argument("--events", type=int, default=0, help="queue synthetic events up to this index")
    p.add_argument("--pace-s", type=float, default=0.0)
    p.add_argument("--collector", default="", help="collector URL (empty: only queue)")
    p.add_argument("--ca", default="")
    p.add_argument("--batch-dir", type=Path, default=None)
    p.add_argument("--wait-batch", action="store_true")
    p.add_argument("--backoff-base", type=float, default=1.0)
    p.add_argument("--backoff-cap", type=float, default=300.0)
    p.add_argument(
        "--crash-after-ack",
        type=int,
        default=0,
        help="test fault: die like kill -9 right after HQ's N-th 2xx, before marking it sent",
    )
    args = p.parse_args(argv)
    try:
        return _simulate(args)
    except OutboxError as exc:
        print(f"outbox: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
