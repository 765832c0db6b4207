"""Fuzz every driver parser: `python -m bench.fuzz_drivers --examples N --json`.

Inputs are random bytes and mutations of each target's seed captures (bit flips, truncation,
insertion, deletion, length-field corruption, splicing). A crash is any exception that is not
one of the drivers' typed errors (`DeviceError`). The last stdout line is one JSON object.
Baseline (same run): the cost of generating the inputs alone, reported as a ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from typing import Any

from drivers.errors import DeviceError

_LENGTH_BYTES = (0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xFF)


def mutate(rng: random.Random, seed: bytes, corpus: list[bytes]) -> bytes:
    """Return one mutated input."""
    data = bytearray(seed)
    for _ in range(1 + int(rng.random() * 3)):
        op = int(rng.random() * 7)
        n = len(data)
        if op == 0 and n:  # bit flip
            i = int(rng.random() * n)
            data[i] ^= 1 << int(rng.random() * 8)
        elif op == 1 and n:  # truncation
            del data[int(rng.random() * n) :]
        elif op == 2:  # insertion of random bytes
            i = int(rng.random() * (n + 1))
            data[i:i] = rng.randbytes(1 + int(rng.random() * 8))
        elif op == 3 and n:  # length-field corruption
            data[int(rng.random() * n)] = _LENGTH_BYTES[int(rng.random() * len(_LENGTH_BYTES))]
        elif op == 4 and n:  # deletion of a run
            i = int(rng.random() * n)
            del data[i : i + 1 + int(rng.random() * 8)]
        elif op == 5:  # splice with another seed
            other = corpus[int(rng.random() * len(corpus))]
            cut = int(rng.random() * (len(other) + 1))
            data = data[: int(rng.random() * (n + 1))] + bytearray(other[cut:])
        elif n:  # duplication of a run
            i = int(rng.random() * n)
            data[i:i] = data[i : i + 1 + int(rng.random() * 16)]
    return bytes(data)


def generate(rng: random.Random, seeds: list[bytes]) -> bytes:
    """Random bytes one time in five, else a mutated seed."""
    if rng.random() < 0.2 or not seeds:
        return rng.randbytes(int(rng.random() * 96))
    return mutate(rng, seeds[int(rng.random() * len(seeds))], seeds)


def run_share(args: tuple[int, int]) -> dict[str, Any]:
    """Run `count` examples spread over all targets; return per-target counts."""
    count, seed = args
    from drivers.fuzz_targets import targets

    table = targets()
    names = sorted(table)
    rng = random.Random(seed)
    stats = {n: {"runs": 0, "accepted": 0, "rejected": 0, "crashes": 0} for n in names}
    crashes: list[dict[str, str]] = []
    t0 = time.perf_counter()
    for i in range(count):
        name = names[i % len(names)]
        fn, seeds = table[name]
        data = generate(rng, seeds)
        s = stats[name]
        s["runs"] += 1
        try:
            fn(data)
            s["accepted"] += 1
        except DeviceError:
            s["rejected"] += 1
        except Exception as exc:
            s["crashes"] += 1
            if len(crashes) < 10:
                crashes.append({"target": name, "input": data.hex(), "error": repr(exc)[:200]})
    elapsed = time.perf_counter() - t0
    # Baseline: generating the same number of inputs without parsing them.
    rng = random.Random(seed)
    t1 = time.perf_counter()
    for i in range(count):
        generate(rng, table[names[i % len(names)]][1])
    baseline = time.perf_counter() - t1
    return {"stats": stats, "crashes": crashes, "elapsed": elapsed, "baseline": baseline}


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer and print the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_drivers", description=__doc__)
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="only the JSON summary")
    args = parser.parse_args(argv)
    workers = max(1, min(args.workers, args.examples or 1))
    shares = [
        (args.examples // workers + (1 if w < args.examples % workers else 0), args.seed * 1000 + w)
        for w in range(workers)
    ]
    wall = time.perf_counter()
    if workers == 1:
        results = [run_share(shares[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(run_share, shares)
    wall = time.perf_counter() - wall
    per_target: dict[str, dict[str, int]] = {}
    for r in results:
        for name, s in r["stats"].items():
            acc = per_target.setdefault(name, dict.fromkeys(s, 0))
            for k, v in s.items():
                acc[k] += v
    crashes = sum(s["crashes"] for s in per_target.values())
    examples = sum(s["runs"] for s in per_target.values())
    parse_s = sum(r["elapsed"] for r in results)
    base_s = sum(r["baseline"] for r in results)
    summary = {
        "examples": examples,
        "crashes": crashes,
        "targets": per_target,
        "crash_samples": [c for r in results for c in r["crashes"]][:10],
        "wall_s": round(wall, 2),
        "examples_per_s": round(examples / wall, 1) if wall else None,
        "parse_vs_generate_ratio": round(parse_s / base_s, 2) if base_s else None,
        "workers": workers,
    }
    if not args.json:
        for name, s in sorted(per_target.items()):
            print(f"{name:20} {s}", file=sys.stderr)
    print(json.dumps(summary))
    return 0 if crashes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
