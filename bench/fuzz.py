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
import base64
import json
import multiprocessing
import random
import string
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.fuzz_drivers import generate

Target = tuple[Callable[[bytes], object], list[bytes], tuple[type[BaseException], ...]]


def parser_targets() -> dict[str, Target]:
    """Every parser as name -> (callable, seeds, the exception types it may raise)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from branch_hub.config import ConfigError, parse_config
    from branch_hub.queue import QueueError
    from drivers.errors import DeviceError
    from drivers.fuzz_targets import targets as driver_targets
    from sync import bundle
    from sync.errors import SyncError
    from sync.export_reader import parse_line as parse_export_line

    out: dict[str, Target] = {
        f"drivers.{name}": (fn, seeds, (DeviceError,))
        for name, (fn, seeds) in driver_targets().items()
    }
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

    def config_file(data: bytes) -> object:
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(exc)) from exc
        return parse_config(doc, "fuzz.toml")

    sample = Path(__file__).resolve().parent.parent / "branch_hub" / "sample_branch.toml"
    export_seed = orjson.dumps(
        {
            "customer_id": "C1",
            "name": "王小明",
            "gender": "M",
            "id_number": "11010519491231002X",
            "cards": [{"pan": "6222021001098550814"}],
            "passbooks": [{"account": "62284800000000000123"}],
        }
    )
    event_seed = (
        b'{"kind":"issued","at":"2026-11-02T09:00:00+08:00","day":"2026-11-02","ticket":null,'
        b'"actor":{"staff_id":"s1","device_id":"d1"},"counter_id":null,"detail":{},"seq":1}'
    )
    from branch_hub.queue import QueueEvent

    out.update(
        {
            "sync.envelope": (
                lambda d: bundle.open_envelope(d, public, "fuzz"),
                [orjson.dumps({"body": body.decode(), "signature": "AAAA"})],
                (SyncError,),
            ),
            "sync.manifest": (signed_manifest, [body], (SyncError,)),
            "sync.upsert_chunk": (
                lambda d: list(bundle.iter_upsert_chunk(d)),
                [
                    bundle.upsert_chunk_header(1)
                    + bundle.upsert_record(b"r" * 16, [b"h" * 16], b"s")
                ],
                (SyncError,),
            ),
            "sync.delete_chunk": (
                lambda d: list(bundle.iter_delete_chunk(d)),
                [bundle.delete_chunk([b"r" * 16, b"q" * 16])],
                (SyncError,),
            ),
            "sync.export_line": (export_line, [export_seed], (SyncError,)),
            "hub.config": (config_file, [sample.read_bytes()], (ConfigError,)),
            "hub.queue_event": (QueueEvent.from_json, [event_seed], (QueueError,)),
        }
    )
    return out


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


# ------------------------------------------------------------------------------------ HTTP API

_NASTY = [
    "..",
    "../../etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "A012",
    "0",
    "-1",
    "99999999999999999999",
    "张三",
    "\u202e",
    "x" * 300,
    "null",
    "%00",
    "C1",
    "K1",
]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 1.5, float(rng.randrange(10**6))])
    if kind == 3:
        return rng.choice(_NASTY)
    if kind == 4:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(40)))
    if kind == 5:
        return rng.choice(["cash", "wealth", "accepted", "follow_up", "lobby_manager", "C1"])
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(
            [
                "service",
                "session_id",
                "text",
                "outcome",
                "counter",
                "staff_id",
                "pin",
                "note",
                "since",
                "x",
            ]
        ): _random_value(rng, depth + 1)
        for _ in range(rng.randrange(5))
    }


def random_request(
    rng: random.Random, routes: list[tuple[str, str]]
) -> tuple[str, str, dict[str, str], bytes]:
    """Pick a route and make a hostile request for it: method, path, headers, body."""
    method, path = rng.choice(routes)
    if rng.random() < 0.15:
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
    parts = []
    for seg in path.split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            seg = (
                rng.choice(_NASTY)
                if rng.random() < 0.7
                else "".join(
                    rng.choice(string.ascii_letters + string.digits + "%._-~")
                    for _ in range(rng.randrange(1, 20))
                )
            )
        parts.append(seg)
    path = "/".join(parts)
    if rng.random() < 0.2:
        path += "?" + rng.choice(
            ["since=-5", "since=abc", "since=99999999999999999999", "state=nope", "a=" + "b" * 5000]
        )
    headers = {}
    roll = rng.random()
    if roll < 0.5:
        body = orjson.dumps(_random_value(rng))
        headers["Content-Type"] = "application/json"
    elif roll < 0.7:
        body = rng.randbytes(rng.randrange(200))
        headers["Content-Type"] = rng.choice(
            ["application/json", "text/plain", "multipart/form-data"]
        )
    elif roll < 0.8:
        body = b'{"text": "' + b"x" * rng.choice([70_000, 300_000]) + b'"}'  # oversized
        headers["Content-Type"] = "application/json"
    else:
        body = b""
    if rng.random() < 0.3:
        headers["Authorization"] = rng.choice(
            ["Bearer ", "Bearer " + "A" * 64, "Basic Zm9vOmJhcg==", "Bearer \u00e9"]
        )
    return method, path, headers, body


def hub_routes() -> list[tuple[str, str]]:
    """Every (method, path template) the hub serves, read from the production app's router."""
    import asyncio

    from branch_hub.api import create_app
    from branch_hub.config import load_config, resolve_data_dir
    from branch_hub.hub import build_hub
    from branch_hub.service import ensure_dev_pki

    sample = Path(__file__).resolve().parent.parent / "branch_hub" / "sample_branch.toml"
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "hub.toml"
        config_path.write_text(sample.read_text(encoding="utf-8"), encoding="utf-8")
        config = load_config(config_path)
        ensure_dev_pki(resolve_data_dir(config, config_path) / "pki", config.branch.id)
        hub = build_hub(config, config_path)
        routes = []
        for route in create_app(hub).router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter")
            if path and route.method != "HEAD":
                routes.append((route.method, str(path)))
        asyncio.run(hub.close())
    return sorted(set(routes))


def start_hub(work: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a real hub on loopback with the sample config; return it and its base URL."""
    sample = Path(__file__).resolve().parent.parent / "branch_hub" / "sample_branch.toml"
    config = work / "hub.toml"
    config.write_text(sample.read_text(encoding="utf-8"), encoding="utf-8")
    exe = Path(sys.executable).parent / "branch-hub"
    proc = subprocess.Popen(
        [str(exe), "--config", str(config), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"the hub did not start: {line!r}")
    return proc, line.split()[-1]


def device_certs(work: Path) -> dict[str, tuple[str, str] | None]:
    """Client certificates for each device kind, issued by the hub's CA and enrolled."""
    from cryptography.hazmat.primitives import serialization

    from branch_hub.pki import issue_client_cert, load_pem_pair, write_private_key
    from branch_hub.security.devices import DeviceRegistry

    pki = work / "var" / "pki"
    ca = load_pem_pair(pki / "ca.crt", pki / "ca.key")
    registry = DeviceRegistry(work / "var" / "security" / "devices.db")
    out: dict[str, tuple[str, str] | None] = {"none": None}
    for device, kind in (("K1", "kiosk"), ("T1", "tablet"), ("D1", "display"), ("C1", "counter")):
        cert, key = issue_client_cert(ca, device, kind)
        if key is None:
            raise RuntimeError("issue_client_cert made no key")
        registry.register(device, kind, cert)
        cert_path, key_path = work / f"{device}.crt", work / f"{device}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_private_key(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        out[kind] = (str(cert_path), str(key_path))
    registry.close()
    return out


def staff_token(work: Path, url: str, ca: str, cert: tuple[str, str]) -> str:
    """Create a lobby manager account and log in from the tablet: the fuzzer's staff session."""
    import requests

    from branch_hub.security.staff import StaffStore

    store = StaffStore(work / "var" / "security" / "staff.db")
    store.add("S-FUZZ", "Fuzz Tester", "lobby_manager", "580213")
    store.close()
    resp = requests.post(
        f"{url}/api/v1/login",
        json={"staff_id": "S-FUZZ", "pin": "580213"},
        verify=ca,
        cert=cert,
        timeout=30,
    )
    resp.raise_for_status()
    return str(resp.json()["token"])


def fuzz_http(seconds: float, seed: int) -> dict[str, Any]:
    """Send hostile requests to a real hub over TLS until the deadline."""
    import requests

    rng = random.Random(seed)
    routes = [r for r in hub_routes() if not r[1].endswith("/events")]  # WebSocket: below
    statuses: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    sent = 0
    with tempfile.TemporaryDirectory(prefix="fuzz-hub-") as tmp:
        work = Path(tmp)
        proc, url = start_hub(work)
        try:
            certs = device_certs(work)
            ca = str(work / "var" / "pki" / "ca.crt")
            sessions = {}
            for kind, pair in certs.items():
                session = requests.Session()
                session.verify = ca
                session.trust_env = False  # loopback only, never a proxy
                if pair:
                    session.cert = pair
                sessions[kind] = session
            # A logged-in lobby manager on the tablet reaches the staff handlers themselves.
            tablet = certs["tablet"]
            if tablet is None:
                raise RuntimeError("no tablet certificate")
            staff = requests.Session()
            staff.verify, staff.trust_env, staff.cert = ca, False, tablet
            staff.headers["Authorization"] = "Bearer " + staff_token(work, url, ca, tablet)
            sessions["tablet+staff"] = staff
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                method, path, headers, body = random_request(rng, routes)
                who = rng.choice(list(sessions))
                try:
                    resp = sessions[who].request(
                        method, url + path, headers=headers, data=body, timeout=10
                    )
                except requests.RequestException as exc:
                    statuses["transport_error"] = statuses.get("transport_error", 0) + 1
                    if proc.poll() is not None:
                        errors.append(
                            {"request": f"{method} {path}", "error": f"hub died: {exc!r}"[:200]}
                        )
                        break
                    continue
                sent += 1
                key = f"{resp.status_code // 100}xx"
                statuses[key] = statuses.get(key, 0) + 1
                bad_json = resp.status_code >= 400 and "error" not in _json_or_empty(resp)
                if resp.status_code >= 500 or bad_json:
                    if len(errors) < 10:
                        errors.append(
                            {
                                "request": f"{method} {path}"[:200],
                                "as": who,
                                "status": resp.status_code,
                                "body": resp.text[:200],
                            }
                        )
                    if bad_json and resp.status_code < 500:
                        statuses["unclear_error"] = statuses.get("unclear_error", 0) + 1
            alive = (
                proc.poll() is None
                and sessions["tablet"].get(url + "/api/v1/health", timeout=10).status_code == 200
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "requests": sent,
        "routes": len(routes),
        "statuses": statuses,
        "server_errors": statuses.get("5xx", 0),
        "unclear_errors": statuses.get("unclear_error", 0),
        "hub_alive_after": alive,
        "samples": errors,
    }


def _json_or_empty(resp: Any) -> dict[str, Any]:
    try:
        value = resp.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


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
