"""Staff actions through the real hub while another process holds the audit database's lock.

A hub built by `build_hub` is served over mutual TLS on loopback; a logged-in lobby manager adds
notes to today's visits over HTTPS, one after another. Each note is one staff action: the note,
its push event and its audit entry commit together in the hub's database, and the audit log's own
writer thread chains the entry later. Timed twice in the same run: with the audit database free
(the baseline) and while a second process holds `BEGIN EXCLUSIVE` on it for `--hold` seconds (as
branch-provision does while it appends). No action may wait for that lock.

`python -m bench.staff_stall [--actions N] [--hold S]`; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization

from bench.audit_stall import LockHolder
from branch_hub.api.serve import hub_ssl_context, start_site
from branch_hub.config import load_config, resolve_data_dir
from branch_hub.hub import Hub, build_hub
from branch_hub.pki import issue_client_cert, load_pem_pair, write_private_key
from branch_hub.service import ensure_dev_pki

__all__ = ["Timed", "main", "run"]

SAMPLE = Path(__file__).resolve().parent.parent / "branch_hub" / "sample_branch.toml"
PIN = "580213"


@dataclass
class Timed:
    """Each action's round trip and when the last one answered (time.monotonic_ns)."""

    took_ms: list[float]
    last_answer_ns: int

    def pct(self, q: float) -> float:
        """The q-quantile (nearest rank)."""
        ordered = sorted(self.took_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _device(hub: Hub, folder: Path, device_id: str) -> ssl.SSLContext:
    """Enrol a tablet and return its TLS context."""
    pki = hub.data_dir / "pki"
    cert, key = issue_client_cert(
        load_pem_pair(pki / "ca.crt", pki / "ca.key"), device_id, "tablet"
    )
    assert key is not None  # noqa: S101 (issue_client_cert makes the key)
    hub.security.devices.register(device_id, "tablet", cert)
    crt, kf = folder / f"{device_id}.crt", folder / f"{device_id}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private_key(
        kf,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(crt), str(kf))
    return context


async def _notes(http: aiohttp.ClientSession, url: str, visits: list[str], count: int) -> Timed:
    took: list[float] = []
    last = 0
    for i in range(count):
        started = time.perf_counter()
        visit = visits[i % len(visits)]
        body = {"text": f"note {i}", "request_id": f"n{time.monotonic_ns()}"}
        async with http.post(f"{url}/api/v1/visits/{visit}/notes", json=body) as resp:
            if resp.status != 201:
                raise RuntimeError(f"note {i}: {resp.status} {await resp.text()}")
        took.append((time.perf_counter() - started) * 1000)
        last = time.monotonic_ns()
    return Timed(took, last)


async def _bench(folder: Path, actions: int, hold_s: float) -> dict[str, Any]:
    config_path = folder / "hub.toml"
    shutil.copyfile(SAMPLE, config_path)
    config = load_config(config_path)
    # The bench sends one tablet's notes back to back, far faster than a person writes them.
    config = config.model_copy(
        update={"hub": config.hub.model_copy(update={"write_limit_scale": 0.0})}
    )
    ensure_dev_pki(resolve_data_dir(config, config_path) / "pki", config.branch.id)
    hub = build_hub(config, config_path)
    runner = await start_site(hub, "127.0.0.1", 0, hub_ssl_context(hub), 0.5)
    await hub.start()
    try:
        url = f"https://127.0.0.1:{runner.addresses[0][1]}"
        hub.security.staff.add("S-LOBBY", "Lobby", "lobby_manager", PIN)
        token = hub.security.sessions.create("S-LOBBY", "lobby_manager", "Lobby", "TAB-bench")
        visits = []
        for _ in range(5):
            answer = await hub.lobby.issue_ticket("K1", "cash", None)
            visits.append(hub.lobby.visits.visit_of_ticket(answer.ticket.id) or "")
        connector = aiohttp.TCPConnector(ssl=_device(hub, folder, "TAB-bench"))
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
            await _notes(http, url, visits, 10)  # warm up: TLS session, caches
            free = await _notes(http, url, visits, actions)
            with LockHolder(hub.data_dir / "security" / "audit.db", hold_s) as lock:
                locked = await _notes(http, url, visits, actions)
                released = lock.wait()
        hub.audit.flush(hold_s + 30)
        chained = hub.audit.verify()
    finally:
        await runner.cleanup()
        await hub.close()
    return {
        "bench": "staff_stall",
        "actions": actions,
        "hold_s": hold_s,
        "free_p50_ms": round(free.pct(0.5), 2),
        "free_p99_ms": round(free.pct(0.99), 2),
        "locked_p50_ms": round(locked.pct(0.5), 2),
        "locked_p99_ms": round(locked.pct(0.99), 2),
        "p99_ratio_locked_vs_free": round(locked.pct(0.99) / max(free.pct(0.99), 1e-6), 2),
        "all_answered_while_locked": locked.last_answer_ns < released,
        "audit_entries_chained": chained,
    }


def run(actions: int = 200, hold_s: float = 2.0) -> dict[str, Any]:
    """Run the bench in a temporary folder and return its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_bench(Path(tmp), actions, hold_s))


def main() -> None:
    """Print the figures as JSON (last line)."""
    parser = argparse.ArgumentParser(prog="python -m bench.staff_stall", description=__doc__)
    parser.add_argument("--actions", type=int, default=200, help="notes per phase")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds the lock is held")
    args = parser.parse_args()
    print(json.dumps(run(args.actions, args.hold)))


if __name__ == "__main__":
    main()
