"""kill -9 at random moments loses nothing the store acknowledged.

A child process (this module run as `python -m tests.test_queue_durability child ...`) issues,
calls and finishes tickets in a loop and prints each acknowledged operation — after the store
call returned, i.e. after COMMIT — to a pipe. The parent kills it with SIGKILL at a random
moment, reopens the database and checks every acknowledged event and ticket state is there.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from branch_hub.queue import Actor, EventKind, ManualClock, QueueStore, TicketState
from tests.test_queue_config import queue_config

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)
ROUNDS = 4


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    rng = random.Random(5)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    acknowledged: list[tuple[int, str, str, str]] = []
    for round_no in range(ROUNDS):
        start = START + timedelta(hours=round_no)  # the clock keeps moving forward across runs
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.test_queue_durability",
                "child",
                str(db),
                start.isoformat(),
                str(round_no),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # "ready": the store is open, the loop starts now
        assert first.strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
        lines = rest.split("\n")[:-1]  # a last line without newline was cut by the kill
        for line in lines:
            seq, kind, ticket_id, state = line.split()
            acknowledged.append((int(seq), kind, ticket_id, state))
        assert lines, "the child acknowledged nothing before the kill"
    with QueueStore(db, queue_config(), ManualClock(START + timedelta(hours=ROUNDS))) as store:
        events = {e.seq: e for e in store.events_since(0, limit=1_000_000)}
        final = {t.id: t for t in store.tickets()}
    for seq, kind, ticket_id, state in acknowledged:
        event = events.get(seq)
        assert event is not None, f"acknowledged event {seq} lost"
        assert event.kind.value == kind
        assert event.ticket is not None
        assert event.ticket.id == ticket_id
        assert event.ticket.state.value == state
        assert ticket_id in final
    last_state: dict[str, str] = {}
    for _seq, _kind, ticket_id, state in sorted(acknowledged):
        last_state[ticket_id] = state
    for ticket_id, state in last_state.items():
        # a later, unacknowledged change may have committed; an acknowledged one never vanishes
        if state == TicketState.FINISHED.value:
            assert final[ticket_id].state is TicketState.FINISHED
        if state == TicketState.WAITING.value:
            assert final[ticket_id].state is not TicketState.CANCELLED
    numbers = [t.number for t in final.values()]
    assert len(numbers) == len(set(numbers))


def _child(db: str, start: str, seed: str) -> None:
    """Child process: issue, call and finish tickets until killed (bounded to 20 000 ops)."""
    clock = ManualClock(datetime.fromisoformat(start))
    store = QueueStore(Path(db), queue_config(), clock)
    staff = Actor("s-09", "tablet-9")
    for counter in ("K1", "K2", "K3"):
        store.open_counter(counter, staff)
    print("ready", flush=True)
    rng = random.Random(int(seed))
    for _ in range(20_000):
        clock.advance(seconds=1)
        if rng.random() < 0.6:
            outcome = store.issue(rng.choice(["cash", "account", "wealth"]), Actor(None, "K1"))
        else:
            outcome = store.call_next(rng.choice(["K1", "K2", "K3"]), staff)
        for event in outcome.events:
            if event.ticket is not None and event.kind is not EventKind.COUNTER_OPENED:
                print(event.seq, event.kind.value, event.ticket.id, event.ticket.state.value)
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1] == "child":
        _child(*sys.argv[2:5])
