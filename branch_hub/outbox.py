"""Outcomes to HQ exactly once: a durable outbox in SQLite and the sender that drains it.

`Outbox.enqueue` commits the event (payload sealed at rest, WAL + synchronous=FULL) before it
returns. `OutboxSender` posts each pending event to HQ's collector over HTTPS with HQ's CA
pinned, an `Idempotency-Key` header and an Ed25519 signature by the hub's outcome key; it marks
an event sent only after a 2xx, retries with bounded exponential backoff and jitter, and after
a restart simply resumes with whatever is still pending. HQ deduplicates by the key, so a
resend after a crash between HQ's 2xx and our commit is harmless. Wire format:
docs/hq-interface.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import random
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.config import BranchConfig
from sync import _faults

__all__ = [
    "FIELDS",
    "KINDS",
    "Backoff",
    "Outbox",
    "OutboxError",
    "OutboxItem",
    "OutboxSender",
    "load_or_create_signing_key",
    "open_for_hub",
    "sign_envelope",
]

log = logging.getLogger("branch_hub.outbox")

# What HQ needs of each kind, and nothing more (docs/hq-interface.md, "Outcome events").
# Note text leaves the branch only with a hand-off, where it is the message to the colleague.
KINDS: dict[str, frozenset[str]] = {
    "lead_outcome": frozenset({"customer_id", "lead_id", "outcome", "staff_id", "at"}),
    "claim": frozenset({"customer_id", "staff_id", "at"}),
    "note": frozenset({"customer_id", "staff_id", "at"}),
    "handoff": frozenset(
        {"customer_id", "staff_id", "to_staff_id", "to_role", "note", "at", "lead_id"}
    ),
}
FIELDS = frozenset().union(*KINDS.values())
OUTCOMES = frozenset({"accepted", "declined", "follow_up", "not_interested"})
SIGNATURE_CONTEXT = b"branch-edge/v1 outcome\x00"
MAX_NOTE = 2000


class OutboxError(Exception):
    """An event cannot be queued for HQ (unknown kind, missing field, bad value)."""


@dataclass(frozen=True)
class OutboxItem:
    """One queued event."""

    row: int
    idempotency_key: str
    kind: str
    at: str
    business_day: str
    payload: dict[str, Any]
    state: str
    attempts: int

    def envelope(self, branch_id: str) -> dict[str, Any]:
        """Return the JSON object HQ receives for this event."""
        return {
            "v": 1,
            "idempotency_key": self.idempotency_key,
            "branch_id": branch_id,
            "kind": self.kind,
            "at": self.at,
            "business_day": self.business_day,
            "payload": self.payload,
        }


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    business_day TEXT NOT NULL,
    sealed BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt, row);
CREATE INDEX IF NOT EXISTS outbox_day ON outbox (business_day, row);
CREATE TABLE IF NOT EXISTS outbox_batches (
    business_day TEXT PRIMARY KEY,
    events INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
"""


def _clean_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    allowed = KINDS.get(kind)
    if allowed is None:
        raise OutboxError(f"unknown outbox kind {kind!r} (expected one of {sorted(KINDS)})")
    out = {k: v for k, v in payload.items() if k in allowed and v is not None}
    if not isinstance(out.get("staff_id"), str) or not out["staff_id"]:
        raise OutboxError(f"a {kind} event needs the staff_id of who recorded it")
    if kind == "lead_outcome":
        if not out.get("lead_id") or not out.get("customer_id"):
            raise OutboxError("a lead_outcome event needs customer_id and lead_id")
        if out.get("outcome") not in OUTCOMES:
            raise OutboxError(f"outcome must be one of {sorted(OUTCOMES)}")
    if kind == "handoff" and not (out.get("to_staff_id") or out.get("to_role")):
        raise OutboxError("a handoff event needs to_staff_id or to_role")
    note = out.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise OutboxError(f"a hand-off note is text of at most {MAX_NOTE} characters")
    for key, value in out.items():
        if key != "note" and not isinstance(value, str):
            raise OutboxError(f"field {key!r} must be text")
    return out


class Outbox:
    """The durable queue of events for HQ (thread-safe; every write is committed on return)."""

    def __init__(
        self,
        db_path: Path,
        cipher: AtRestCipher,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._cipher = cipher
        self._tz = ZoneInfo(timezone)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # acknowledged means on disk
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @staticmethod
    def _aad(key: str, kind: str) -> bytes:
        return f"outbox/{key}/{kind}".encode()

    def business_day(self, at: datetime) -> str:
        """The branch's business day (its local date) of an instant."""
        return at.astimezone(self._tz).date().isoformat()

    def today(self) -> str:
        """Today's business day."""
        return self.business_day(self._clock())

    def enqueue(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> bool:
        """Queue an event for HQ; durable before it returns. False if the key was already queued."""
        if not idempotency_key or len(idempotency_key) > 200 or not idempotency_key.isprintable():
            raise OutboxError("an idempotency key is 1-200 printable characters")
        clean = _clean_payload(kind, payload)
        raw_at = clean.get("at")
        try:
            when = datetime.fromisoformat(raw_at) if raw_at else self._clock()
        except ValueError as exc:
            raise OutboxError(f"'at' must be an ISO 8601 time, got {raw_at!r}") from exc
        if when.tzinfo is None:
            raise OutboxError("'at' must carry a UTC offset")
        at = when.astimezone(UTC).isoformat(timespec="milliseconds")
        clean["at"] = at
        body = json.dumps(clean, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        sealed = self._cipher.seal(body.encode(), self._aad(idempotency_key, kind))
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO outbox (idempotency_key, kind, at, business_day, sealed)"
                " VALUES (?, ?, ?, ?, ?)",
                (idempotency_key, kind, at, self.business_day(when), sealed),
            )
        return cur.rowcount == 1

    def _item(self, row: tuple[Any, ...]) -> OutboxItem:
        rid, key, kind, at, day, sealed, state, attempts = row
        payload = json.loads(self._cipher.open(sealed, self._aad(key, kind)))
        return OutboxItem(rid, key, kind, at, day, payload, state, attempts)

    _COLS = "row, idempotency_key, kind, at, business_day, sealed, state, attempts"

    def due(self, now: float, limit: int = 100) -> list[OutboxItem]:
        """Pending events whose next attempt is due, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._COLS} FROM outbox WHERE state = 'pending' AND next_attempt <= ?"  # noqa: S608
                " ORDER BY row LIMIT ?",
                (now, limit),
            ).fetchall()
        return [self._item(r) for r in rows]

    def next_due(self) -> float | None:
        """The earliest next-attempt time of a pending event (None when nothing is pending)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def mark_sent(self, row: int) -> None:
        """Record HQ's 2xx for an event."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL WHERE row = ?",
                (self._clock().isoformat(timespec="milliseconds"), row),
            )

    def mark_retry(self, row: int, next_attempt: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?"
                " WHERE row = ?",
                (next_attempt, error[:300], row),
            )

    def mark_rejected(self, row: int, error: str) -> None:
        """Park an event HQ refused (kept, reported, re-queued by `requeue_rejected`)."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, last_error = ?"
                " WHERE row = ?",
                (error[:300], row),
            )

    def requeue_rejected(self) -> int:
        """Put every rejected event back in the queue; return how many."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt = 0 WHERE state = 'rejected'"
            )
        return cur.rowcount

    def stats(self) -> dict[str, Any]:
        """Counts by state and the time of the oldest pending event (for /health)."""
        with self._lock:
            counts = dict(
                self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
            )
            oldest = self._db.execute(
                "SELECT MIN(at) FROM outbox WHERE state = 'pending'"
            ).fetchone()[0]
            last_error = self._db.execute(
                "SELECT last_error FROM outbox WHERE state != 'sent' AND last_error IS NOT NULL"
                " ORDER BY row LIMIT 1"
            ).fetchone()
        return {
            "pending": int(counts.get("pending", 0)),
            "sent": int(counts.get("sent", 0)),
            "rejected": int(counts.get("rejected", 0)),
            "oldest_pending_at": oldest,
            "last_error": last_error[0] if last_error else None,
        }

    def for_day(self, day: str) -> Iterator[OutboxItem]:
        """Every event of a business day (any state), in the order they were queued."""
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {self._COLS} FROM outbox WHERE business_day = ? AND row > ?"  # noqa: S608
                    " ORDER BY row LIMIT 1000",
                    (day, last),
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield self._item(r)
            last = rows[-1][0]

    def days_awaiting_batch(self, before: str) -> list[str]:
        """Business days before `before` with events but no uploaded batch and nothing pending."""
        with self._lock:
            rows = self._db.execute(
                "SELECT business_day FROM outbox WHERE business_day < ?"
                " AND business_day NOT IN (SELECT business_day FROM outbox_batches)"
                " GROUP BY business_day HAVING SUM(state = 'pending') = 0"
                " ORDER BY business_day",
                (before,),
            ).fetchall()
        return [r[0] for r in rows]

    def mark_batch(self, day: str, events: int, sha256: str) -> None:
        """Record that a day's batch reached HQ."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO outbox_batches VALUES (?, ?, ?, ?)",
                (day, events, sha256, self._clock().isoformat(timespec="seconds")),
            )

    def purge(self, before: str) -> int:
        """Delete sent events of days before `before` whose batch HQ has; return how many."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM outbox WHERE state = 'sent' AND business_day < ?"
                " AND business_day IN (SELECT business_day FROM outbox_batches)",
                (before,),
            )
        return cur.rowcount


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The hub's Ed25519 outcome key (signs live events and batches), created 0600 on first use."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            fh.flush()
            os.fsync(fh.fileno())
        pub = path.with_suffix(".pub")
        if not pub.exists():
            pub.write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        return key
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise OutboxError(f"{path} is not a PEM private key") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise OutboxError(f"{path} is not an Ed25519 private key (the hub's outcome key)")
    return loaded


def sign_envelope(key: Ed25519PrivateKey, body: bytes) -> str:
    """The `Branch-Signature` header value for a request body."""
    return base64.b64encode(key.sign(SIGNATURE_CONTEXT + body)).decode("ascii")


@dataclass
class Backoff:
    """Exponential backoff with 'equal jitter': a delay in [d/2, d], d = min(cap, base * 2^n)."""

    base_s: float = 1.0
    cap_s: float = 300.0
    rng: random.Random | None = None

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` consecutive failures (at most cap_s)."""
        d = min(self.cap_s, self.base_s * (2 ** min(failures, 30)))
        rng = self.rng or random
        return rng.uniform(d / 2, d)


@dataclass(frozen=True)
class _Result:
    kind: str  # sent | retry | down | rejected
    detail: str


class OutboxSender:
    """Drains an outbox to HQ's collector; run `run(stop)` as a task on the hub's loop."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        collector_url: str,
        ca_file: str,
        branch_id: str,
        signing_key: Ed25519PrivateKey,
        batch_dir: Path | None = None,
        backoff: Backoff | None = None,
        poll_s: float = 1.0,
        timeout_s: float = 10.0,
    ) -> None:
        if not collector_url.startswith("https://"):
            raise OutboxError("the collector URL must be https://")
        if not ca_file:
            raise OutboxError("HQ's CA file is required (it is pinned for the collector)")
        self.outbox = outbox
        self.url = collector_url.rstrip("/")
        self.ca_file = ca_file
        self.branch_id = branch_id
        self.key = signing_key
        self.batch_dir = batch_dir
        self.backoff = backoff or Backoff()
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.link_failures = 0
        self._session = requests.Session()
        # Pinning: only HQ's CA is trusted for the collector, never the system store.
        self._session.verify = ca_file
        self._session.trust_env = False
        self._wake = threading.Event()

    def wake(self) -> None:
        """Try now (called after an enqueue)."""
        self._wake.set()

    def _post(self, item: OutboxItem) -> _Result:
        body = json.dumps(
            item.envelope(self.branch_id), ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": item.idempotency_key,
            "Branch-Id": self.branch_id,
            "Branch-Signature": sign_envelope(self.key, body),
        }
        try:
            resp = self._session.post(
                f"{self.url}/v1/events", data=body, headers=headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            return _Result("down", type(exc).__name__)
        if 200 <= resp.status_code < 300:
            return _Result("sent", str(resp.status_code))
        if resp.status_code >= 500 or resp.status_code in (408, 425, 429):
            return _Result("retry", f"HTTP {resp.status_code}")
        return _Result("rejected", f"HTTP {resp.status_code}: {resp.text[:200]}")

    def send_due(self) -> int:
        """Send what is due now (blocking); return how many HQ acknowledged."""
        sent = 0
        for item in self.outbox.due(time.time()):
            result = self._post(item)
            if result.kind == "sent":
                _faults.point("outbox:acked")  # tests crash here: HQ has it, we have not marked it
                self.outbox.mark_sent(item.row)
                self.link_failures = 0
                sent += 1
                continue
            if result.kind == "rejected":
                log.warning("HQ refused outbox event %s: %s", item.row, result.detail)
                self.outbox.mark_rejected(item.row, result.detail)
                continue
            # HQ or the WAN is down: back off the whole queue, keep the order.
            self.link_failures += 1
            delay = self.backoff.delay(self.link_failures - 1)
            self.outbox.mark_retry(item.row, time.time() + delay, result.detail)
            self._next_try = time.time() + delay
            return sent
        return sent

    def upload_batches(self) -> list[str]:
        """Write, sign and upload the batch of every finished business day not yet at HQ."""
        from sync.batch import BatchError, upload_batch, write_batch

        done = []
        for day in self.outbox.days_awaiting_batch(self.outbox.today()):
            envelopes = (i.envelope(self.branch_id) for i in self.outbox.for_day(day))
            out = self.batch_dir or Path(".")
            files = write_batch(envelopes, self.branch_id, day, self.key, out)
            try:
                upload_batch(files, self.url, self.ca_file, timeout_s=self.timeout_s * 6)
            except BatchError as exc:
                log.warning("batch for %s not uploaded yet: %s", day, exc)
                break
            self.outbox.mark_batch(day, files.events, files.sha256)
            done.append(day)
        return done

    _next_try = 0.0

    def _wait_s(self) -> float:
        now = time.time()
        nxt = self.outbox.next_due()
        wait = self.poll_s if nxt is None else max(0.0, min(self.poll_s, nxt - now))
        return max(wait, self._next_try - now, 0.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; survives any error of a single round."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await loop.run_in_executor(None, self.send_due)
                if self.batch_dir is not None and self.link_failures == 0:
                    await loop.run_in_executor(None, self.upload_batches)
            except Exception:
                log.exception("outbox round failed; retrying")
                self._next_try = time.time() + self.backoff.delay(3)
            wait = self._wait_s()
            if wait > 0:
                self._wake.clear()
                waker: asyncio.Future[bool] = loop.run_in_executor(None, self._wake.wait, wait)
                stopper: asyncio.Future[bool] = asyncio.ensure_future(stop.wait())
                await asyncio.wait([waker, stopper], return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not waker.done():
                    self._wake.set()
                    await waker

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


def open_for_hub(
    config: BranchConfig, data_dir: Path, cipher: AtRestCipher
) -> tuple[Outbox, OutboxSender | None]:
    """The hub's outbox in hub.db and, when `[hq] collector_url` is set, its sender."""
    outbox = Outbox(data_dir / "hub.db", cipher, timezone=config.branch.timezone)
    if not config.hq.collector_url:
        return outbox, None
    key = load_or_create_signing_key(data_dir / "outcome_signing.key")
    sender = OutboxSender(
        outbox,
        collector_url=config.hq.collector_url,
        ca_file=config.hq.ca_file,
        branch_id=config.branch.id,
        signing_key=key,
        batch_dir=data_dir / "batches",
    )
    return outbox, sender


def _simulate(args: argparse.Namespace) -> int:
    """Run a hub-side outbox process: queue a simulated business day and/or drain to HQ."""
    if args.crash_after_ack:
        acks = iter(range(args.crash_after_ack - 1, -1, -1))

        def crash() -> None:
            if next(acks, 0) == 0:
                os._exit(137)  # like kill -9: no cleanup, no commit

        _faults.HOOKS["outbox:acked"] = crash
    cipher = AtRestCipher(load_or_create_key(args.atrest_key))
    outbox = Outbox(args.db, cipher, timezone=args.timezone)
    key = load_or_create_signing_key(args.signing_key)
    stop = asyncio.Event()
    day = date.fromisoformat(args.day)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        import signal

        loop.add_signal_handler(signal.SIGTERM, stop.set)
        sender = None
        task = None
        if args.collector:
            sender = OutboxSender(
                outbox,
                collector_url=args.collector,
                ca_file=args.ca,
                branch_id=args.branch_id,
                signing_key=key,
                batch_dir=args.batch_dir,
                backoff=Backoff(args.backoff_base, args.backoff_cap),
                poll_s=0.05,
                timeout_s=2.0,
            )
            task = asyncio.create_task(sender.run(stop))
        start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
        for i in range(args.first, args.events):
            at = datetime.fromtimestamp(start.timestamp() + i * 30, UTC).isoformat()
            kinds = ("lead_outcome", "claim", "handoff", "note")
            kind = kinds[i % 4]
            payload = {
                "customer_id": f"C{i % 997:07d}",
                "lead_id": f"L{i:06d}",
                "outcome": "accepted",
                "staff_id": f"S{i % 7:03d}",
                "to_role": "wealth_manager",
                "note": f"synthetic hand-off {i}",
                "at": at,
            }
            await loop.run_in_executor(
                None, outbox.enqueue, kind, payload, f"{args.branch_id}-{args.day}-{i:06d}"
            )
            if sender is not None:
                sender.wake()
            print(f"queued {i}", flush=True)
            if args.pace_s:
                await asyncio.sleep(args.pace_s)
        print("all queued", flush=True)
        if task is not None:
            while not stop.is_set():
                s = await loop.run_in_executor(None, outbox.stats)
                batches_left = args.wait_batch and outbox.days_awaiting_batch(outbox.today())
                if s["pending"] == 0 and not batches_left:
                    break
                await asyncio.sleep(0.05)
            print("stopped" if stop.is_set() else "drained", flush=True)
            stop.set()
            await task

    asyncio.run(main())
    outbox.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m branch_hub.outbox`: the outbox as a stand-alone process (tests, operations)."""
    p = argparse.ArgumentParser(prog="python -m branch_hub.outbox", description=_simulate.__doc__)
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--atrest-key", type=Path, required=True)
    p.add_argument("--signing-key", type=Path, required=True)
    p.add_argument("--branch-id", default="B001")
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--day", default=date.today().isoformat())
    p.add_argument("--first", type=int, default=0, help="first synthetic event index")
    p.add_argument("--events", type=int, default=0, help="queue synthetic events up to this index")
    p.add_argument("--pace-s", type=float, default=0.0)
    p.add_argument("--collector", default="", help="collector URL (empty: only queue)")
    p.add_argument("--ca", default="")
    p.add_argument("--batch-dir", type=Path, default=None)
    p.add_argument("--wait-batch", action="store_true")
    p.add_argument("--backoff-base", type=float, default=1.0)
    p.add_argument("--backoff-cap", type=float, default=300.0)
    p.add_argument(
        "--crash-after-ack",
        type=int,
        default=0,
        help="test fault: die like kill -9 right after HQ's N-th 2xx, before marking it sent",
    )
    args = p.parse_args(argv)
    try:
        return _simulate(args)
    except OutboxError as exc:
        print(f"outbox: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
