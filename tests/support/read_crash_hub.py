"""The production hub in its own process, with K1's stripe reader on a pty the test owns.

`python -m tests.support.read_crash_hub --data DIR --port N --magstripe PATH [--hold-reads]`
builds the hub with `build_hub` on a provisioned data folder (K1: a keyboard-wedge stripe reader
at PATH), serves it on 127.0.0.1:N and prints `listening URL`. Each read the hub keeps is
announced as `read kept`. With `--hold-reads`, the lobby never gets to act on a read (no
session), so the test can kill -9 the process between taking a swipe and delivering its session.
The hold is injected here by wrapping the real method, so the hub carries no test hooks.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from branch_hub.api.serve import hub_ssl_context, start_site
from branch_hub.hub import HubOptions, build_hub
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.read_journal import ReadJournal
from tests.support.hubkit import hub_config
from tests.support.lobbyenv import branch_config


def _announce_reads() -> None:
    real = ReadJournal.take

    def take(self: ReadJournal, *args: Any, **kwargs: Any) -> str:
        read_id = real(self, *args, **kwargs)
        print("read kept", flush=True)
        return read_id

    ReadJournal.take = take  # type: ignore[method-assign]


def _hold_reads() -> None:
    async def on_device_event(self: Lobby, *_a: Any, **_k: Any) -> None:
        await asyncio.Event().wait()  # until the process is killed

    Lobby.on_device_event = on_device_event  # type: ignore[method-assign]


async def serve(args: argparse.Namespace) -> None:
    """Serve the hub until SIGTERM."""
    data: Path = args.data
    config = hub_config(branch_config(magstripe=f"wedge://{args.magstripe}"), data)
    hub = build_hub(
        config, data / "hub.toml", HubOptions(cache_dir=data / "cache", poll_interval_s=0.05)
    )
    runner = await start_site(hub, "127.0.0.1", args.port, hub_ssl_context(hub), 0.5)
    await hub.start()
    print(f"listening https://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await hub.close()


def main() -> None:
    """Parse the arguments, wrap the journal, serve."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.read_crash_hub")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--magstripe", type=Path, required=True)
    parser.add_argument("--hold-reads", action="store_true")
    args = parser.parse_args()
    _announce_reads()
    if args.hold_reads:
        _hold_reads()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
