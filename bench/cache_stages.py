"""Where an identification's time goes: each step of ours and of the plain lookup, timed in-loop.

Each side's lookup is rebuilt from the same public pieces the hub uses (normalise, the blind
index, the indexed query, the tag check, AES-GCM, orjson), cut after each step; every cut runs
the same identifiers in interleaved blocks, and a step's cost is the difference of medians
between two cuts. The pieces are timed where they run, between page reads, which is what the
end-to-end ratio is made of (a tight loop of one call hides cache misses).
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from branch_common.identifiers import normalise
from sync.bundle import BlindIndexer, holds_tag, record_aad
from sync.cache_files import live_file, read_meta, status_from_meta
from sync.keys import unwrap_keys

__all__ = ["stage_costs"]

Lookup = Callable[[str, str], object]
Query = tuple[str, str, bool]

_OURS_INDEX = "SELECT customer FROM blind_index WHERE h = ?"
_OURS_RECORD = (
    "SELECT c.ref, c.version, c.hs, c.sealed FROM blind_index b JOIN customer c "
    "ON c.id = b.customer WHERE b.h = ?"
)
_PLAIN_INDEX = "SELECT customer FROM ident WHERE kind = ? AND value = ?"
_PLAIN_RECORD = (
    "SELECT c.data FROM ident i JOIN customer c ON c.id = i.customer "
    "WHERE i.kind = ? AND i.value = ?"
)


def _ours(
    cache_dir: Path, hub_key: X25519PrivateKey
) -> tuple[dict[str, Lookup], sqlite3.Connection]:
    """Our identification cut after each step (normalise + blind index, probe, record, ...)."""
    path = live_file(cache_dir)
    if path is None:
        raise SystemExit(f"no cache in {cache_dir}")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    meta = read_meta(conn)
    status = status_from_meta(meta)
    keys = unwrap_keys(orjson.loads(meta["wrapped_keys"]), hub_key, status.branch_id, status.key_id)
    index, aes = BlindIndexer(keys.index_key), AESGCM(keys.data_key)

    def cut(step: int) -> Lookup:
        def lookup(kind: str, value: str) -> object:
            tag = index(kind, normalise(kind, value))
            if step == 0:
                return tag
            if step == 1:
                return conn.execute(_OURS_INDEX, (tag,)).fetchall()
            rows = conn.execute(_OURS_RECORD, (tag,)).fetchall()
            for ref, version, hs, sealed in rows if step > 2 else ():
                if holds_tag(hs, tag):
                    plain = aes.decrypt(sealed[:12], sealed[12:], record_aad(ref, version, hs))
                    return plain if step == 3 else orjson.loads(plain)
            return rows

        return lookup

    names = ("normalise + blind index", "index probe", "record row", "tag check + decrypt", "parse")
    return {name: cut(n) for n, name in enumerate(names)}, conn


def _plain(db: Path) -> tuple[dict[str, Lookup], sqlite3.Connection]:
    """The plain lookup cut after each step (normalise, probe, record, parse)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def cut(step: int) -> Lookup:
        def lookup(kind: str, value: str) -> object:
            norm = normalise(kind, value)
            if step == 0:
                return norm
            if step == 1:
                return conn.execute(_PLAIN_INDEX, (kind, norm)).fetchall()
            rows = conn.execute(_PLAIN_RECORD, (kind, norm)).fetchall()
            for (data,) in rows if step > 2 else ():
                return orjson.loads(data)
            return rows

        return lookup

    names = ("normalise", "index probe", "record row", "parse")
    return {name: cut(n) for n, name in enumerate(names)}, conn


def _medians(cuts: dict[str, tuple[list[Query], Lookup]], lookups: int) -> dict[str, float]:
    """Median µs of every cut, run over the same identifiers in interleaved blocks of 500."""
    spent: dict[str, list[int]] = {name: [] for name in cuts}
    clock = time.perf_counter_ns
    for start in range(0, lookups, 500):
        for name, (queries, fn) in cuts.items():
            sink = spent[name]
            for kind, value, _ in queries[start : min(start + 500, lookups)]:
                t0 = clock()
                fn(kind, value)
                sink.append(clock() - t0)
    return {name: statistics.median(ns) / 1000 for name, ns in spent.items() if ns}


def _steps(cumulative: dict[str, float]) -> dict[str, float]:
    """Turn medians of cuts (each including the steps before) into the cost of each step."""
    out: dict[str, float] = {}
    before = 0.0
    for name, total in cumulative.items():
        out[name] = round(total - before, 2)
        before = total
    return out


def stage_costs(
    cache_dir: Path,
    hub_key: X25519PrivateKey,
    plain_db: Path,
    queries: tuple[list[Query], list[Query]],
    lookups: int,
) -> dict[str, Any]:
    """Per-step µs of ours and of the plain lookup, and the ratio they add up to."""
    ours, ours_conn = _ours(cache_dir, hub_key)
    plain, plain_conn = _plain(plain_db)
    ours_q, plain_q = queries
    cuts = {f"ours:{k}": (ours_q, fn) for k, fn in ours.items()}
    cuts |= {f"plain:{k}": (plain_q, fn) for k, fn in plain.items()}
    try:
        for queries_, fn in cuts.values():  # warm every path once
            for kind, value, _ in queries_[:2000]:
                fn(kind, value)
        medians = _medians(cuts, lookups)
    finally:
        ours_conn.close()
        plain_conn.close()
    ours_steps = _steps({k[5:]: v for k, v in medians.items() if k.startswith("ours:")})
    plain_steps = _steps({k[6:]: v for k, v in medians.items() if k.startswith("plain:")})
    ours_total, plain_total = sum(ours_steps.values()), sum(plain_steps.values())
    crypto = ours_steps["normalise + blind index"] - plain_steps["normalise"]
    crypto += ours_steps["tag check + decrypt"]
    return {
        "identify_steps_us": ours_steps,
        "plain_steps_us": plain_steps,
        "steps_ratio": round(ours_total / plain_total, 3),
        # What the ratio would be if only the cryptography were added to the plain lookup.
        "crypto_only_ratio": round((plain_total + crypto) / plain_total, 3),
    }
