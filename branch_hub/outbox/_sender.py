"""Sending the outbox to HQ: signed HTTPS posts with idempotency keys, retried with back-off.

`OutboxSender` posts each pending event to HQ's collector with HQ's CA pinned, an
`Idempotency-Key` header and an Ed25519 signature by the hub's outcome key; it marks an event
sent only after a 2xx, retries with the one back-off, and after a restart simply resumes with
whatever is still pending. A resend after a crash between HQ's 2xx and our commit is harmless:
HQ deduplicates by the key. The audit log's signed head goes to HQ as an anchor with each
nightly batch and, between batches, at most every `anchor_every_s` while it moves. The batch
carries the day report from `day_report` (set by build_hub), built once per day and kept.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_common.backoff import Backoff
from branch_hub.atrest import AtRestCipher
from branch_hub.config import BranchConfig
from branch_hub.database import HubDatabase
from branch_hub.outbox._store import Outbox, OutboxError, OutboxItem

if TYPE_CHECKING:
    from branch_hub.security.audit import AuditLog

__all__ = ["OutboxSender", "load_or_create_signing_key", "open_for_hub", "sign_envelope"]

log = logging.getLogger("branch_hub.outbox")
SIGNATURE_CONTEXT = b"branch-edge/v1 outcome\x00"


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
        audit: AuditLog | None = None,
        anchor_every_s: float = 600.0,
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
        self.backoff = backoff or Backoff(first=1.0, cap=300.0, jitter=0.25)
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.link_failures = 0
        self._session = requests.Session()
        # Pinning: only HQ's CA is trusted for the collector, never the system store.
        self._session.verify = ca_file
        self._session.trust_env = False
        self._wake = threading.Event()
        self.audit = audit
        self.anchor_every_s = anchor_every_s
        self._anchored_at = float("-inf")
        self.hq_refused_audit_head = False  # HQ answered 409: this log does not continue HQ's
        self.day_report: Callable[[str], dict[str, Any]] | None = None  # blocking builder

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
            report = self._report_of(day, out)
            files = write_batch(envelopes, self.branch_id, day, self.key, out, report)
            try:
                upload_batch(files, self.url, self.ca_file, timeout_s=self.timeout_s * 6)
            except BatchError as exc:
                log.warning("batch for %s not uploaded yet: %s", day, exc)
                break
            self.outbox.mark_batch(day, files.events, files.sha256)
            if files.report_sha256 is not None and self.audit is not None:
                sent = {"business_day": day, "report_sha256": files.report_sha256}
                self.audit.record("report_sent", detail=sent)
            done.append(day)
        if done:
            self.anchor_audit(force=True)
        return done

    def _report_of(self, day: str, out: Path) -> dict[str, Any] | None:
        """The day's report for HQ: the one written on an earlier try, else built now."""
        if self.day_report is None:
            return None
        kept = out / f"{self.branch_id}-{day}.report.json"
        try:
            report: dict[str, Any] = json.loads(kept.read_bytes())
        except (OSError, ValueError):
            pass
        else:
            return report  # the same bytes again: HQ takes a re-upload as a duplicate
        try:
            return self.day_report(day)
        except Exception as exc:  # a bug must not hold back the day's outcomes
            # No traceback: an exception's text could carry a customer's data into the log.
            why = type(exc).__name__
            log.error("day report of %s not built, the batch goes without it: %s", day, why)  # noqa: TRY400
            return None

    def anchor_audit(self, *, force: bool = False) -> bool:
        """Send the audit log's head to HQ, continuing the head HQ holds, if it moved."""
        from sync.anchor import fetch_latest, post_anchor
        from sync.errors import SyncError

        if self.audit is None or (
            not force and time.monotonic() - self._anchored_at < self.anchor_every_s
        ):
            return False
        head = self.audit.anchor()
        if head is None:
            return False
        self._anchored_at = time.monotonic()
        try:
            held = fetch_latest(self._session, self.url, self.branch_id, self.timeout_s)
        except SyncError as exc:
            log.info("audit head not sent to HQ yet: %s", exc)
            return False
        if held is not None and (held["seq"], held["chain_mac"]) == (head.seq, head.chain_mac):
            self.audit.anchored(head)  # HQ has it already (our record of it was lost)
            return False
        prev = None if held is None else (held["seq"], self.audit.chain_mac_at(held["seq"]))
        status = post_anchor(
            self._session, self.url, self.branch_id, self.key, head.to_json(), prev, self.timeout_s
        )
        if status == 409:
            log.error("HQ holds an audit head this hub's log does not continue: rolled back")
            self.hq_refused_audit_head = True
        if not 200 <= status < 300:
            return False
        self.hq_refused_audit_head = False
        self.audit.anchored(head)
        return True

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
                if self.link_failures == 0:
                    await loop.run_in_executor(None, self.anchor_audit)
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
    config: BranchConfig,
    data_dir: Path,
    cipher: AtRestCipher,
    db: HubDatabase | None = None,
    ca_file: Path | None = None,
    audit: AuditLog | None = None,
) -> tuple[Outbox, OutboxSender | None]:
    """The hub's outbox in its database and, when `[hq] collector_url` is set, its sender.

    `ca_file` is HQ's CA resolved next to the config file (as for pulls); without it the
    configured string is used as it stands.
    """
    outbox = Outbox(db or data_dir / "hub.db", cipher, timezone=config.branch.timezone)
    if not config.hq.collector_url:
        return outbox, None
    key = load_or_create_signing_key(data_dir / "outcome_signing.key")
    sender = OutboxSender(
        outbox,
        collector_url=config.hq.collector_url,
        ca_file=str(ca_file) if ca_file is not None else config.hq.ca_file,
        branch_id=config.branch.id,
        signing_key=key,
        batch_dir=data_dir / "batches",
        audit=audit,
    )
    return outbox, sender
