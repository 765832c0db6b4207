"""Benchmark the security checks on the hub's request path.

Figures: the per-request device registry check (`DeviceRegistry.admits`, which also reads
SQLite's data_version so another process's revocation is seen) against a bare dict lookup;
one audit append (HMAC chain, SQLite write lock, head file; handed to the writer thread and
waited for) against a bare one-row SQLite insert; a scrypt PIN check; `audit verify` per 1000 entries. Medians of three rounds.
Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from branch_hub.context import RequestContext
from branch_hub.pki import issue_client_cert, make_ca
from branch_hub.security.audit import AuditLog
from branch_hub.security.devices import DeviceRegistry, serial_hex
from branch_hub.security.passwords import hash_secret, verify_secret


def _per_op_us(fn: Callable[[], object], ops: int) -> float:
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(ops):
            fn()
        rounds.append((time.perf_counter() - start) / ops * 1e6)
    return statistics.median(rounds)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ca = make_ca("BENCH")
        registry = DeviceRegistry(folder / "devices.db")
        serial = ""
        for i in range(args.devices):
            cert, _ = issue_client_cert(ca, f"TAB{i}", "tablet")
            registry.register(f"TAB{i}", "tablet", cert)
            serial = serial_hex(cert)
        last = f"TAB{args.devices - 1}"
        plain = {d.device_id: d for d in registry.list()}
        admit_us = _per_op_us(lambda: registry.admits(last, "tablet", serial), args.ops)
        dict_us = _per_op_us(lambda: plain.get(last), args.ops)

        audit = AuditLog.open(folder)
        ctx = RequestContext("TAB1", "tablet", "w1", "wealth_manager")

        def append() -> None:
            # Record and wait until written: the append itself (the writer thread's cost).
            audit.record("brief_view", ctx=ctx, customer_id="C0000000001")
            audit.flush()

        audit_us = _per_op_us(append, args.ops // 5)
        raw = sqlite3.connect(folder / "raw.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
        raw_us = _per_op_us(lambda: raw.execute("INSERT INTO t (b) VALUES ('x')"), args.ops // 5)
        entries = audit.verify()
        start = time.perf_counter()
        audit.verify()
        verify_ms_per_1000 = (time.perf_counter() - start) * 1000 / entries * 1000

        stored = hash_secret("246810")
        start = time.perf_counter()
        for _ in range(5):
            verify_secret("246810", stored)
        pin_ms = (time.perf_counter() - start) / 5 * 1000
    result = {
        "bench": "security",
        "devices": args.devices,
        "registry_check_us": round(admit_us, 2),
        "dict_lookup_us": round(dict_us, 3),
        "registry_check_ratio": round(admit_us / dict_us, 1),
        "audit_append_us": round(audit_us, 1),
        "sqlite_insert_us": round(raw_us, 1),
        "audit_append_ratio": round(audit_us / raw_us, 2),
        "audit_verify_ms_per_1000": round(verify_ms_per_1000, 2),
        "scrypt_pin_check_ms": round(pin_ms, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
