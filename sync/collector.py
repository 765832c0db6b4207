"""HQ's reference outcome collector: live events deduplicated by idempotency key, nightly batches.

`branch-sync collector --listen ADDR --db FILE --cert --key --branch-key ID=PUB` serves HTTPS:
- `POST /v1/events` one event envelope, signed by the branch's outcome key; stored once per
  idempotency key (a redelivery answers 200 with `"duplicate": true`; the same key with other
  contents answers 409);
- `POST /v1/batches` a day's signed JSONL batch; refused unless the signature verifies;
- `GET /v1/reconciliation?branch=ID&day=YYYY-MM-DD` what the batch and the live feed disagree on.
`branch-sync reconcile --db FILE --branch ID --day D` prints the same report. Interface:
docs/hq-interface.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import json
import signal
import sqlite3
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.batch import BatchError, verify_batch
from sync.errors import SyncError
from sync.keys import load_signing_public

__all__ = ["CollectorError", "CollectorStore", "Reconciliation", "add_commands", "serve"]

EVENT_CONTEXT = b"branch-edge/v1 outcome\x00"
KINDS = frozenset({"lead_outcome", "claim", "note", "handoff"})
MAX_EVENT = 64 * 1024
MAX_BATCH = 64 * 1024 * 1024


class CollectorError(SyncError):
    """A request to the collector is refused: the status and a stable reason code say why."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    idempotency_key TEXT PRIMARY KEY,
    branch_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    business_day TEXT NOT NULL,
    envelope TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS events_day ON events (branch_id, business_day);
CREATE TABLE IF NOT EXISTS conflicts (
    idempotency_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    branch_id TEXT NOT NULL,
    business_day TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    events INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (branch_id, business_day)
);
CREATE TABLE IF NOT EXISTS batch_events (
    branch_id TEXT NOT NULL,
    business_day TEXT NOT NULL,
    line INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (branch_id, business_day, line)
);
"""


def canonical(envelope: dict[str, Any]) -> tuple[str, str]:
    """The envelope's canonical JSON and its SHA-256 (what 'same event' means)."""
    text = json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


def check_envelope(env: Any, branch_id: str, key: str | None = None) -> dict[str, Any]:
    """Validate an event envelope's shape; raise CollectorError(400) if it is not one."""
    if not isinstance(env, dict):
        raise CollectorError(400, "malformed", "an event is a JSON object")
    if env.get("v") != 1:
        raise CollectorError(400, "unsupported_version", "unknown event envelope version")
    ikey = env.get("idempotency_key")
    if not isinstance(ikey, str) or not 0 < len(ikey) <= 200:
        raise CollectorError(400, "malformed", "idempotency_key is missing")
    if key is not None and ikey != key:
        raise CollectorError(400, "key_mismatch", "Idempotency-Key header differs from the body")
    if env.get("branch_id") != branch_id:
        raise CollectorError(400, "branch_mismatch", "branch_id differs from the signed branch")
    if env.get("kind") not in KINDS:
        raise CollectorError(400, "unknown_kind", f"unknown event kind {env.get('kind')!r}")
    try:
        date.fromisoformat(str(env.get("business_day")))
        datetime.fromisoformat(str(env.get("at")))
    except ValueError as exc:
        raise CollectorError(400, "malformed", "at / business_day are not ISO dates") from exc
    if not isinstance(env.get("payload"), dict):
        raise CollectorError(400, "malformed", "payload must be an object")
    return env


@dataclass(frozen=True)
class Reconciliation:
    """What a day's batch and the live feed agree and disagree on."""

    branch_id: str
    business_day: str
    batch_received: bool
    live: int
    in_batch: int
    missing: list[str]  # in the batch, never received live
    duplicate: list[str]  # more than once in the batch
    mismatched: list[str]  # live and batch contents differ
    unexpected: list[str]  # received live for the day, absent from the batch
    redeliveries: int  # live resends absorbed by idempotency

    @property
    def ok(self) -> bool:
        """True when the batch and the live feed match exactly."""
        return self.batch_received and not (
            self.missing or self.duplicate or self.mismatched or self.unexpected
        )

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "branch_id": self.branch_id,
            "business_day": self.business_day,
            "batch_received": self.batch_received,
            "live": self.live,
            "in_batch": self.in_batch,
            "missing": self.missing,
            "duplicate": self.duplicate,
            "mismatched": self.mismatched,
            "unexpected": self.unexpected,
            "redeliveries": self.redeliveries,
            "ok": self.ok,
        }


class CollectorStore:
    """The collector's SQLite database (WAL, synchronous=FULL); thread-safe."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    def receive(self, env: dict[str, Any], source: str = "live") -> bool:
        """Store an event once; True if new, False for a redelivery; CollectorError on conflict."""
        text, digest = canonical(env)
        key = env["idempotency_key"]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT sha256 FROM events WHERE idempotency_key = ?", (key,)
                ).fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                        (
                            key,
                            env["branch_id"],
                            env["kind"],
                            env["at"],
                            env["business_day"],
                            text,
                            digest,
                            source,
                            self._now(),
                        ),
                    )
                elif row[0] == digest:
                    self._db.execute(
                        "UPDATE events SET deliveries = deliveries + 1 WHERE idempotency_key = ?",
                        (key,),
                    )
                else:
                    self._db.execute(
                        "INSERT INTO conflicts VALUES (?, ?, ?)", (key, digest, self._now())
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if row is not None and row[0] != digest:
            raise CollectorError(
                409, "conflict", "this idempotency key was already used for another event"
            )
        return row is None

    def receive_batch(
        self, branch_id: str, day: str, sha: str, events: list[dict[str, Any]]
    ) -> None:
        """Store a verified batch (replacing an earlier upload of the same day)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM batch_events WHERE branch_id = ? AND business_day = ?",
                    (branch_id, day),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?)",
                    (branch_id, day, sha, len(events), self._now()),
                )
                self._db.executemany(
                    "INSERT INTO batch_events VALUES (?, ?, ?, ?, ?)",
                    [
                        (branch_id, day, n, env["idempotency_key"], canonical(env)[1])
                        for n, env in enumerate(events)
                    ],
                )
                # An event the live feed never delivered is recovered from the signed batch.
                for env in events:
                    text, digest = canonical(env)
                    self._db.execute(
                        "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, 'batch', ?, 0)",
                        (
                            env["idempotency_key"],
                            branch_id,
                            env["kind"],
                            env["at"],
                            day,
                            text,
                            digest,
                            self._now(),
                        ),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def reconcile(self, branch_id: str, day: str) -> Reconciliation:
        """Compare a day's batch with the events received live."""
        with self._lock:
            batch = self._db.execute(
                "SELECT 1 FROM batches WHERE branch_id = ? AND business_day = ?", (branch_id, day)
            ).fetchone()
            live = dict(
                self._db.execute(
                    "SELECT idempotency_key, sha256 FROM events WHERE branch_id = ?"
                    " AND business_day = ? AND source = 'live'",
                    (branch_id, day),
                ).fetchall()
            )
            redeliveries = self._db.execute(
                "SELECT COALESCE(SUM(deliveries - 1), 0) FROM events WHERE branch_id = ?"
                " AND business_day = ? AND source = 'live'",
                (branch_id, day),
            ).fetchone()[0]
            rows = self._db.execute(
                "SELECT idempotency_key, sha256 FROM batch_events WHERE branch_id = ?"
                " AND business_day = ? ORDER BY line",
                (branch_id, day),
            ).fetchall()
        seen: dict[str, str] = {}
        duplicate: list[str] = []
        for key, digest in rows:
            if key in seen:
                duplicate.append(key)
            seen[key] = digest
        return Reconciliation(
            branch_id=branch_id,
            business_day=day,
            batch_received=batch is not None,
            live=len(live),
            in_batch=len(rows),
            missing=sorted(k for k in seen if k not in live),
            duplicate=sorted(set(duplicate)),
            mismatched=sorted(k for k, d in seen.items() if k in live and live[k] != d),
            unexpected=sorted(k for k in live if k not in seen) if batch else [],
            redeliveries=int(redeliveries),
        )

    def counts(self) -> dict[str, int]:
        """Totals: events stored, deliveries seen, conflicts."""
        with self._lock:
            events, deliveries = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM events"
            ).fetchone()
            conflicts = self._db.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0]
        return {"events": events, "deliveries": deliveries, "conflicts": conflicts}


def _check_size(body: bytes) -> None:
    if len(body) > MAX_EVENT:
        raise CollectorError(413, "too_large", "an event is at most 64 KiB")


def _signature_doc(raw: str | None) -> dict[str, Any]:
    """Decode the Batch-Signature header (base64 of the .sig.json document)."""
    doc: Any = None
    if raw:
        try:
            doc = json.loads(base64.b64decode(raw, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise CollectorError(400, "malformed", "Batch-Signature is not base64 JSON") from exc
        if not isinstance(doc, dict):
            raise CollectorError(400, "malformed", "Batch-Signature is not a JSON object")
    if not doc or not doc.get("signature"):
        raise CollectorError(401, "unsigned", "the batch carries no signature")
    return dict(doc)


def _create_app(store: CollectorStore, keys: dict[str, Ed25519PublicKey]) -> Any:
    from aiohttp import web

    def refuse(exc: CollectorError) -> web.Response:
        return web.json_response(
            {"error": {"code": exc.reason, "message": str(exc)}}, status=exc.status
        )

    def branch_key(branch_id: str) -> Ed25519PublicKey:
        key = keys.get(branch_id)
        if key is None:
            raise CollectorError(403, "unknown_branch", f"branch {branch_id!r} is not registered")
        return key

    async def post_event(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        try:
            body = await request.read()
            _check_size(body)
            branch_id = request.headers.get("Branch-Id", "")
            key = branch_key(branch_id)
            try:
                sig = base64.b64decode(request.headers.get("Branch-Signature", ""), validate=True)
                key.verify(sig, EVENT_CONTEXT + body)
            except (binascii.Error, ValueError, InvalidSignature) as exc:
                raise CollectorError(
                    401, "bad_signature", "the event is not signed by this branch's outcome key"
                ) from exc
            try:
                env = json.loads(body)
            except ValueError as exc:
                raise CollectorError(400, "malformed", "the body is not JSON") from exc
            env = check_envelope(env, branch_id, request.headers.get("Idempotency-Key"))
            new = await loop.run_in_executor(None, store.receive, env)
        except CollectorError as exc:
            return refuse(exc)
        return web.json_response(
            {"idempotency_key": env["idempotency_key"], "duplicate": not new},
            status=201 if new else 200,
        )

    async def post_batch(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        try:
            body = await request.read()
            doc = _signature_doc(request.headers.get("Batch-Signature"))
            branch_id = str(doc.get("branch_id", ""))
            try:
                events = verify_batch(body, doc, branch_key(branch_id))
                for env in events:
                    check_envelope(env, branch_id)
            except BatchError as exc:
                status = 422 if exc.reason in ("tampered", "malformed") else 401
                raise CollectorError(status, exc.reason, str(exc)) from exc
            day = str(doc["business_day"])
            await loop.run_in_executor(
                None, store.receive_batch, branch_id, day, str(doc["sha256"]), events
            )
            report = await loop.run_in_executor(None, store.reconcile, branch_id, day)
        except CollectorError as exc:
            return refuse(exc)
        return web.json_response(report.to_json(), status=201)

    async def get_reconciliation(request: web.Request) -> web.Response:
        branch_id = request.query.get("branch", "")
        day = request.query.get("day", "")
        try:
            date.fromisoformat(day)
        except ValueError:
            return refuse(CollectorError(400, "bad_day", "day must be YYYY-MM-DD"))
        report = await asyncio.get_running_loop().run_in_executor(
            None, store.reconcile, branch_id, day
        )
        return web.json_response(report.to_json())

    async def get_health(_request: web.Request) -> web.Response:
        counts = await asyncio.get_running_loop().run_in_executor(None, store.counts)
        return web.json_response({"status": "ok", **counts})

    app = web.Application(client_max_size=MAX_BATCH)
    app.router.add_post("/v1/events", post_event)
    app.router.add_post("/v1/batches", post_batch)
    app.router.add_get("/v1/reconciliation", get_reconciliation)
    app.router.add_get("/v1/health", get_health)
    return app


async def serve(
    listen: str,
    db: Path,
    cert: Path,
    key: Path,
    branch_keys: dict[str, Ed25519PublicKey],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the collector over HTTPS until SIGINT/SIGTERM (or `stop`)."""
    from aiohttp import web

    host, _, port = listen.rpartition(":")
    store = CollectorStore(db)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    runner = web.AppRunner(_create_app(store, branch_keys), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port), ssl_context=ctx)
    await site.start()
    bound = runner.addresses[0]
    print(f"branch-sync collector: listening on https://{bound[0]}:{bound[1]}", flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        store.close()


def _branch_key(value: str) -> tuple[str, Path]:
    branch, sep, path = value.partition("=")
    if not sep or not branch or not path:
        raise argparse.ArgumentTypeError(f"expected BRANCH_ID=PUBLIC_KEY_FILE, got {value!r}")
    return branch, Path(path)


def add_commands(sub: Any) -> None:
    """Add `collector` and `reconcile` to branch-sync's subcommands."""
    col = sub.add_parser(
        "collector",
        help="run HQ's reference outcome collector (HTTPS)",
        description="Receive branches' outcome events (deduplicated by idempotency key) and "
        "nightly signed batches; report reconciliation. Interface: docs/hq-interface.md.",
    )
    col.add_argument("--listen", required=True, help="HOST:PORT")
    col.add_argument("--db", type=Path, required=True, help="the collector's SQLite database")
    col.add_argument("--cert", type=Path, required=True, help="TLS server certificate (PEM)")
    col.add_argument("--key", type=Path, required=True, help="TLS server key (PEM)")
    col.add_argument(
        "--branch-key",
        type=_branch_key,
        action="append",
        default=[],
        metavar="ID=PUB",
        help="a branch's outcome public key (Ed25519 PEM); repeat per branch",
    )
    col.set_defaults(func=_cmd_collector)
    rec = sub.add_parser(
        "reconcile",
        help="print a day's reconciliation of batch against live events",
        description="Exit status 0 when the batch and the live feed match, 1 otherwise.",
    )
    rec.add_argument("--db", type=Path, required=True, help="the collector's SQLite database")
    rec.add_argument("--branch", required=True, help="branch id")
    rec.add_argument("--day", required=True, help="business day YYYY-MM-DD")
    rec.set_defaults(func=_cmd_reconcile)


def _cmd_collector(args: argparse.Namespace) -> int:
    keys = {branch: load_signing_public(path) for branch, path in args.branch_key}
    asyncio.run(serve(args.listen, args.db, args.cert, args.key, keys))
    return 0


def _cmd_reconcile(args: argparse.Namespace) -> int:
    if not args.db.exists():
        raise CollectorError(404, "no_db", f"{args.db} does not exist")
    store = CollectorStore(args.db)
    try:
        report = store.reconcile(args.branch, args.day)
    finally:
        store.close()
    print(json.dumps(report.to_json(), indent=1))
    return 0 if report.ok else 1
