"""The slow-client attack of `bench.slow_clients`, run in its own process so its work is not timed.

Each of N connection slots, until the deadline: connect from one of several loopback addresses,
then be slow in one of three ways (a third each): say nothing (the TLS handshake never starts),
finish TLS and trickle a request's headers a byte a second, or finish TLS, send headers and
trickle the body. When the hub closes the connection the slot connects again (after a second if
it was refused at accept). The last stdout line is one JSON object with what happened.

On a machine with several cores the attack keeps to the last one (a LAN attacker's work is not
the hub's). `python -m bench.slow_attack --port P --connections N --seconds S --addresses A`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tally", "attack", "main", "raise_open_files"]

HEADERS = b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\nX-Slow: " + b"a" * 4000
BODY_HEAD = (
    b"POST /api/v1/enrol HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
    b"Content-Length: 60000\r\n\r\n"
)
REFUSED_WITHIN_S = 0.5  # closed this soon after connecting, before any byte: refused at accept


@dataclass
class Tally:
    """What the attack's connections met: outcomes (refused, tls_failed, closed...) and times."""

    connects: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    open_now: int = 0
    open_peak: int = 0
    held_s: list[float] = field(default_factory=list)

    def opened(self) -> None:
        """Count a connection that is open now."""
        self.connects += 1
        self.open_now += 1
        self.open_peak = max(self.open_peak, self.open_now)


def raise_open_files() -> int:
    """Raise this process's soft open-files limit to the hard one; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _until_closed(reader: asyncio.StreamReader, deadline: float) -> bool:
    """Wait for the hub to close the connection; False when the attack ended first."""
    with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                if not await asyncio.wait_for(reader.read(4096), left):
                    return True
            except TimeoutError:
                return False
    return True


async def _trickle(writer: asyncio.StreamWriter, data: bytes, deadline: float) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError, OSError, RuntimeError):
        for byte in data:
            if time.monotonic() >= deadline or writer.is_closing():
                return
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1.0)


async def _one(port: int, source: str, mode: int, tls: ssl.SSLContext, deadline: float) -> str:
    """One slow connection until the hub closes it: `refused`, `tls_failed`, `closed` or `held`."""
    start = time.monotonic()
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)),
        max(0.1, deadline - start),
    )
    try:
        if mode == 0:  # silent: the hub waits for a ClientHello
            closed = await _until_closed(reader, deadline)
            if not closed:
                return "held"
            return "refused" if time.monotonic() - start < REFUSED_WITHIN_S else "closed"
        try:
            await asyncio.wait_for(
                writer.start_tls(tls, server_hostname="127.0.0.1"), max(0.1, deadline - start)
            )
        except (ConnectionError, ssl.SSLError, OSError, TimeoutError):
            return "refused" if time.monotonic() - start < REFUSED_WITHIN_S else "tls_failed"
        head, body = (HEADERS, b"") if mode == 1 else (BODY_HEAD, b"{" + b" " * 59999)
        if mode == 2:
            writer.write(head)
        sender = asyncio.create_task(_trickle(writer, head if mode == 1 else body, deadline))
        closed = await _until_closed(reader, deadline)
        sender.cancel()
        return "closed" if closed else "held"
    finally:
        writer.transport.abort()


async def _slot(
    index: int, port: int, sources: list[str], deadline: float, tally: Tally, tls: ssl.SSLContext
) -> None:
    source = sources[index % len(sources)]
    while time.monotonic() < deadline:
        tally.opened()
        start = time.monotonic()
        try:
            outcome = await _one(port, source, index % 3, tls, deadline)
        except (OSError, TimeoutError):
            outcome = "connect_error"
        finally:
            tally.open_now -= 1
        tally.outcomes[outcome] += 1
        if outcome == "closed":
            tally.held_s.append(time.monotonic() - start)
        elif outcome != "held":
            await asyncio.sleep(1.0)  # a refused attacker tries again a second later


async def attack(port: int, connections: int, seconds: float, addresses: int) -> dict[str, Any]:
    """Run the attack until `seconds` passed; return its tally."""
    sources = [f"127.0.0.{2 + i}" for i in range(addresses)]
    deadline = time.monotonic() + seconds
    tally = Tally()
    tls = ssl.create_default_context()  # one for all: the attacker checks nothing
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    slots = []
    for index in range(connections):  # ramp up over the first second, as a script would
        slots.append(asyncio.create_task(_slot(index, port, sources, deadline, tally, tls)))
        if index % 100 == 99:
            await asyncio.sleep(0.05)
    await asyncio.gather(*slots)
    held = sorted(tally.held_s)  # the longest tells the hub's deadlines held
    return {
        "connections": connections,
        "seconds": seconds,
        "addresses": addresses,
        "connects": tally.connects,
        "refused_at_accept": tally.outcomes["refused"],
        "closed_by_hub": tally.outcomes["closed"],
        "tls_failed": tally.outcomes["tls_failed"],
        "connect_errors": tally.outcomes["connect_error"],
        "held_at_end": tally.outcomes["held"],
        "open_peak": tally.open_peak,
        "held_s_max": round(held[-1], 2) if held else None,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the attack against a hub on loopback and print its tally as JSON."""
    parser = argparse.ArgumentParser(prog="bench.slow_attack", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--addresses", type=int, default=8)
    args = parser.parse_args(argv)
    raise_open_files()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:  # on a shared machine the attack's own work stays off the hub's core
        os.sched_setaffinity(0, {cpus[-1]})
    result = asyncio.run(attack(args.port, args.connections, args.seconds, args.addresses))
    result["cpu_s"] = round(time.process_time(), 2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
