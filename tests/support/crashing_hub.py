"""The production hub in its own process, able to die like kill -9 at one step of a staff action.

`python -m tests.support.crashing_hub --data DIR --port N [--crash STEP] [--action A]
[--identify PAN]` builds the hub with `build_hub` on a provisioned data folder, serves it on
127.0.0.1:N, optionally starts a kiosk session at K1 for a card (printing its id), and prints
`listening URL`. With `--crash`, the process exits with status 137 (no cleanup, no commit) at that
step of the first such action. The fault is injected here by wrapping the real methods, so the
hub's own modules carry no test hooks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from branch_hub.api.serve import hub_ssl_context, start_site
from branch_hub.briefs import VisitNotes
from branch_hub.hub import HubOptions, build_hub
from branch_hub.lobby.actions import Actions
from branch_hub.outbox import Outbox
from branch_hub.queue import QueueStore
from branch_hub.stream import EventStream
from tests.support.hubkit import hub_config
from tests.support.lobbyenv import add_staff, branch_config

# The steps of one staff action, in the order they happen.
STEPS = (
    "before_write",  # before the action's own record
    "after_write",  # its record written, nothing else
    "after_event",  # its push event appended
    "after_outbox",  # its record for HQ queued (a lead outcome; call-next has none)
    "after_commit",  # committed, audit not yet handed in, nothing pushed, no answer
    "after_push",  # pushed to subscribers, the device never got the answer
)
# action -> (the method that writes its record, the push event it sends)
ACTIONS: dict[str, tuple[Any, str, str]] = {
    "outcome": (VisitNotes, "record_outcome", "lead_outcome"),
    "call-next": (QueueStore, "call_next", "called"),
}


def _die() -> None:
    os._exit(137)


def _wrap(owner: Any, name: str, before: bool, when: Callable[..., bool]) -> None:
    real = getattr(owner, name)

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        if before and when(*args, **kwargs):
            _die()
        result = real(self, *args, **kwargs)
        if not before and when(*args, **kwargs):
            _die()
        return result

    setattr(owner, name, wrapped)


def arm(step: str, action: str) -> None:
    """Make this process die at `step` of the first `action`."""
    writer, method, kind = ACTIONS[action]

    def always(*_a: Any, **_k: Any) -> bool:
        return True

    def of_kind(event_kind: str, *_a: Any, **_k: Any) -> bool:
        return str(event_kind) == kind

    if step in ("before_write", "after_write"):
        _wrap(writer, method, step == "before_write", always)
    elif step == "after_event":
        _wrap(EventStream, "append", False, of_kind)
    elif step == "after_outbox":
        _wrap(Outbox, "enqueue", False, of_kind_outbox(kind))
    elif step == "after_commit":
        _wrap(Actions, "_hand_in", True, always)
    elif step == "after_push":
        real = EventStream.publish

        def publish(self: EventStream, event: Any) -> None:
            real(self, event)
            if event.kind == kind:
                _die()

        EventStream.publish = publish  # type: ignore[method-assign]


def of_kind_outbox(kind: str) -> Callable[..., bool]:
    """An outbox record of the action's kind (lead_outcome)."""
    return lambda outbox_kind, *_a, **_k: outbox_kind == kind


async def serve(args: argparse.Namespace) -> None:
    """Serve the hub until SIGTERM."""
    data: Path = args.data
    config = hub_config(branch_config(), data)
    hub = build_hub(config, data / "hub.toml", HubOptions(cache_dir=data / "cache"))
    add_staff(hub.security)
    runner = await start_site(hub, "127.0.0.1", args.port, hub_ssl_context(hub), 0.5)
    await hub.start()
    if args.identify:
        session = await hub.lobby.identify("K1", "pan", args.identify)
        print(f"session {session.session_id}", flush=True)
    print(f"listening https://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await hub.close()


def main() -> None:
    """Parse the arguments, arm the crash, serve."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.crashing_hub")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--crash", choices=STEPS)
    parser.add_argument("--action", choices=sorted(ACTIONS), default="outcome")
    parser.add_argument("--identify", help="start a kiosk session at K1 for this card number")
    args = parser.parse_args()
    if args.crash:
        arm(args.crash, args.action)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
