"""Fuzz every parser: drivers, HQ bundle pieces, export lines, branch config, queue events.

Each parser may raise only its own typed error family; any other exception is a crash.
"""

from __future__ import annotations

import base64
import random
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.fuzz_drivers import generate

__all__ = ["Target", "fuzz_parsers", "parser_targets"]

Target = tuple[Callable[[bytes], object], list[bytes], tuple[type[BaseException], ...]]

_EXPORT_SEED = orjson.dumps(
    {
        "customer_id": "C1",
        "name": "王小明",
        "gender": "M",
        "id_number": "11010519491231002X",
        "cards": [{"pan": "6222021001098550814"}],
        "passbooks": [{"account": "62284800000000000123"}],
        "aum_band": "50万-100万",
        "risk_assessment": {"level": "C3", "expires": "2027-05-01"},
        "products": {"funds": ["fund_bond"], "cards": ["card_debit"]},
        "benefits": ["priority_queue"],
        "attrition_risk": {"flag": True, "reason": "balance_outflow"},
    }
)


def parser_targets() -> dict[str, Target]:
    """Every parser as name -> (callable, seeds, the exception types it may raise)."""
    from drivers.errors import DeviceError
    from drivers.fuzz_targets import targets as driver_targets

    out: dict[str, Target] = {
        f"drivers.{name}": (fn, seeds, (DeviceError,))
        for name, (fn, seeds) in driver_targets().items()
    }
    out.update(_sync_targets())
    out.update(_hub_targets())
    return out


def _sync_targets() -> dict[str, Target]:
    """HQ's bundle pieces (a bench key signs the manifests) and export lines."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync import bundle
    from sync.errors import SyncError
    from sync.export_reader import parse_line as parse_export_line

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    manifest = {
        "format": bundle.FORMAT,
        "kind": "snapshot",
        "branch_id": "BJ-CY-0105",
        "sequence": 3,
        "base_sequence": None,
        "created": "2026-11-01T00:00:00Z",
        "key_id": "k1",
        "wrapped_keys": {"alg": "x"},
        "records": 1,
        "chunks": [{"sha256": "00" * 32, "size": 10, "records": 1, "kind": "upsert"}],
    }
    body = orjson.dumps(manifest)

    def signed_manifest(data: bytes) -> object:
        # Sign the mutated body so the parser behind the signature check is reached too.
        text = data.decode("utf-8", "replace")
        sig = key.sign(b"branch-edge/v1 envelope\x00" + text.encode())
        envelope = orjson.dumps({"body": text, "signature": base64.b64encode(sig).decode()})
        return bundle.parse_manifest(envelope, public)

    def export_line(data: bytes) -> object:
        try:
            return parse_export_line(data)
        except ValueError as exc:  # the publisher reports these with the line number
            raise SyncError(str(exc)) from exc

    return {
        "sync.envelope": (
            lambda d: bundle.open_envelope(d, public, "fuzz"),
            [orjson.dumps({"body": body.decode(), "signature": "AAAA"})],
            (SyncError,),
        ),
        "sync.manifest": (signed_manifest, [body], (SyncError,)),
        "sync.upsert_chunk": (
            lambda d: list(bundle.iter_upsert_chunk(d)),
            [bundle.upsert_chunk_header(1) + bundle.upsert_record(b"r" * 16, [b"h" * 16], b"s")],
            (SyncError,),
        ),
        "sync.delete_chunk": (
            lambda d: list(bundle.iter_delete_chunk(d)),
            [bundle.delete_chunk([b"r" * 16, b"q" * 16])],
            (SyncError,),
        ),
        "sync.export_line": (export_line, [_EXPORT_SEED], (SyncError,)),
    }


def _hub_targets() -> dict[str, Target]:
    """The branch config file and the queue's event records."""
    from branch_hub.config import ConfigError, parse_config
    from branch_hub.queue import QueueError, QueueEvent

    def config_file(data: bytes) -> object:
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(exc)) from exc
        return parse_config(doc, "fuzz.toml")

    sample = Path(__file__).resolve().parent.parent / "branch_hub" / "sample_branch.toml"
    event_seed = (
        b'{"kind":"issued","at":"2026-11-02T09:00:00+08:00","day":"2026-11-02","ticket":null,'
        b'"actor":{"staff_id":"s1","device_id":"d1"},"counter_id":null,"detail":{},"seq":1}'
    )
    return {
        "hub.config": (config_file, [sample.read_bytes()], (ConfigError,)),
        "hub.queue_event": (QueueEvent.from_json, [event_seed], (QueueError,)),
    }


def fuzz_parsers(args: tuple[float, int]) -> dict[str, Any]:
    """Run all parser targets round-robin until the deadline; count runs and crashes."""
    seconds, seed = args
    table = parser_targets()
    names = sorted(table)
    rng = random.Random(seed)
    stats = {n: {"runs": 0, "rejected": 0, "crashes": 0} for n in names}
    samples: list[dict[str, str]] = []
    deadline = time.monotonic() + seconds
    runs = 0
    gen_s = 0.0
    t0 = time.perf_counter()
    while time.monotonic() < deadline:
        for name in names:
            fn, seeds, allowed = table[name]
            g = time.perf_counter()
            data = generate(rng, seeds)
            gen_s += time.perf_counter() - g
            s = stats[name]
            s["runs"] += 1
            runs += 1
            try:
                fn(data)
            except allowed:
                s["rejected"] += 1
            except Exception as exc:
                s["crashes"] += 1
                if len(samples) < 10:
                    samples.append(
                        {"target": name, "input": data.hex()[:400], "error": repr(exc)[:200]}
                    )
    elapsed = time.perf_counter() - t0
    return {"stats": stats, "samples": samples, "runs": runs, "elapsed": elapsed, "gen_s": gen_s}
