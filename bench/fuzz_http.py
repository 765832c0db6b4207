"""Fuzz the hub's HTTP API: a real `branch-hub` on loopback over TLS, every route it serves.

Random methods, path parameters, headers, bodies (malformed, oversized, wrong types) and client
certificates (none, kiosk, tablet, display, counter, and a logged-in lobby manager). A 5xx answer
is a server error, and so is a refusal without an error body; the hub must still answer /health.
"""

from __future__ import annotations

import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import requests

__all__ = ["fuzz_http", "hub_routes", "random_request"]


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
        words = ["cash", "wealth", "accepted", "follow_up", "declined", "lobby_manager", "C1"]
        return rng.choice([*words, "rate_unattractive", "2026-12-09"])
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(
            [
                "service",
                "session_id",
                "text",
                "outcome",
                "reason",
                "follow_up_on",
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
        [str(exe), "--config", str(config), "--listen", "127.0.0.1:0", "--dev"],
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


def _sessions(work: Path, url: str) -> dict[str, requests.Session]:
    """One HTTPS session per client certificate, and one for a logged-in lobby manager."""
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
    return sessions


class _Tally:
    """Answers by status class, and samples of server errors and unclear refusals."""

    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []
        self.sent = 0

    def count(self, key: str) -> None:
        """Count one answer (or failure) of this kind."""
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def answer(self, method: str, path: str, who: str, resp: requests.Response) -> None:
        """Count an answer; keep a sample if it is a 5xx or a refusal without an error body."""
        self.sent += 1
        self.count(f"{resp.status_code // 100}xx")
        bad_json = resp.status_code >= 400 and "error" not in _json_or_empty(resp)
        if resp.status_code >= 500 or bad_json:
            if len(self.errors) < 10:
                self.errors.append(
                    {
                        "request": f"{method} {path}"[:200],
                        "as": who,
                        "status": resp.status_code,
                        "body": resp.text[:200],
                    }
                )
            if bad_json and resp.status_code < 500:
                self.count("unclear_error")


def _hammer(
    url: str,
    proc: subprocess.Popen[str],
    sessions: dict[str, requests.Session],
    routes: list[tuple[str, str]],
    rng: random.Random,
    deadline: float,
) -> _Tally:
    tally = _Tally()
    while time.monotonic() < deadline:
        method, path, headers, body = random_request(rng, routes)
        who = rng.choice(list(sessions))
        try:
            resp = sessions[who].request(method, url + path, headers=headers, data=body, timeout=10)
        except requests.RequestException as exc:
            tally.count("transport_error")
            if proc.poll() is not None:
                tally.errors.append(
                    {"request": f"{method} {path}", "error": f"hub died: {exc!r}"[:200]}
                )
                break
            continue
        tally.answer(method, path, who, resp)
    return tally


def fuzz_http(seconds: float, seed: int) -> dict[str, Any]:
    """Send hostile requests to a real hub over TLS until the deadline."""
    rng = random.Random(seed)
    routes = [r for r in hub_routes() if not r[1].endswith("/events")]  # WebSocket: below
    with tempfile.TemporaryDirectory(prefix="fuzz-hub-") as tmp:
        work = Path(tmp)
        proc, url = start_hub(work)
        try:
            sessions = _sessions(work, url)
            tally = _hammer(url, proc, sessions, routes, rng, time.monotonic() + seconds)
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
        "requests": tally.sent,
        "routes": len(routes),
        "statuses": tally.statuses,
        "server_errors": tally.statuses.get("5xx", 0),
        "unclear_errors": tally.statuses.get("unclear_error", 0),
        "hub_alive_after": alive,
        "samples": tally.errors,
    }


def _json_or_empty(resp: Any) -> dict[str, Any]:
    try:
        value = resp.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
