"""Fuzz every parser and the hub's HTTP API for M minutes: `python -m bench.fuzz --minutes M --json`.

Parsers (one worker process): every driver parser (`drivers.fuzz_targets`), HQ bundle pieces
(signed envelopes, manifests signed with a bench key, upsert/delete chunks, export lines),
branch config files and queue event records. Each may raise only its own typed error family; any
other exception is a crash. The HTTP API (this process): a real `branch-hub` on loopback over
TLS, every route it serves, with random methods, path parameters, headers, bodies (malformed,
oversized, wrong types) and client certificates (none, kiosk, tablet, display). A 5xx answer
is a server error; the hub must also still answer /health at the end. The last stdout line is
`{"inputs", "crashes", "server_errors", ...}`. Baseline (same run): parser inputs per second
against input generation alone, as in `bench.fuzz_drivers`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys

from bench.fuzz_http import fuzz_http
from bench.fuzz_parsers import fuzz_parsers


def main(argv: list[str] | None = None) -> int:
    """Run both fuzzers side by side and print the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="only the JSON summary")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    with multiprocessing.get_context("fork").Pool(1) as pool:
        parsers_async = pool.apply_async(fuzz_parsers, ((seconds, args.seed),))
        http = fuzz_http(seconds, args.seed)
        parsers = parsers_async.get(timeout=seconds + 600)
    crashes = sum(s["crashes"] for s in parsers["stats"].values())
    summary = {
        "minutes": args.minutes,
        "inputs": parsers["runs"] + http["requests"],
        "crashes": crashes + (0 if http["hub_alive_after"] else 1),
        "server_errors": http["server_errors"],
        "parser_inputs": parsers["runs"],
        "parser_targets": len(parsers["stats"]),
        "parser_inputs_per_s": round(parsers["runs"] / parsers["elapsed"], 1),
        "parse_vs_generate_ratio": round(parsers["elapsed"] / parsers["gen_s"], 2)
        if parsers["gen_s"]
        else None,
        "http_requests": http["requests"],
        "http_routes": http["routes"],
        "http_statuses": http["statuses"],
        "unclear_errors": http["unclear_errors"],
        "hub_alive_after": http["hub_alive_after"],
        "crash_samples": parsers["samples"],
        "server_error_samples": http["samples"],
    }
    if not args.json:
        for name, s in sorted(parsers["stats"].items()):
            print(f"{name:28} {s}", file=sys.stderr)
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if summary["crashes"] == 0 and summary["server_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
