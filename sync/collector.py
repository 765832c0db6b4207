"""HQ's reference outcome collector: live events deduplicated by idempotency key, nightly batches.

`branch-sync collector --listen ADDR (--db FILE | --database postgresql://...) --cert --key
--branch-key ID=PUB` serves HTTPS (SQLite for the demo, PostgreSQL for a bank's branches):
- `POST /v1/events` one event envelope, signed by the branch's outcome key; stored once per
  idempotency key (a redelivery answers 200 with `"duplicate": true`; the same key with other
  contents answers 409);
- `POST /v1/batches` a day's signed JSONL batch and its day report (multipart); refused unless
  the signature verifies and the report matches its signed SHA-256;
- `GET /v1/reconciliation?branch=ID&day=YYYY-MM-DD` what the batch and the live feed disagree on;
- `GET /v1/reports?branch=ID&day=YYYY-MM-DD` the day report a branch's batch carried;
- `POST /v1/audit-anchors` the branch's signed audit-log head (409 when it goes backwards) and
  `GET /v1/audit-anchors/latest?branch=ID` the latest one (see `sync.anchor`).
`branch-sync reconcile --db FILE --branch ID --day D` prints the reconciliation and `branch-sync
report` the day report (sync.collector_cli). Interface: docs/hq-interface.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import signal
import ssl
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.anchor import ANCHOR_CONTEXT, AnchorStore, check_anchor
from sync.batch import MAX_REPORT, BatchError, verify_batch, verify_report
from sync.collector_db import POOL_SIZE, open_database
from sync.collector_store import CollectorError, CollectorStore, Reconciliation

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["CollectorError", "CollectorStore", "Reconciliation", "serve"]

EVENT_CONTEXT = b"branch-edge/v1 outcome\x00"
KINDS = frozenset({"lead_outcome", "claim", "note", "handoff", "product_view", "sms_request"})
# What an sms_request carries for HQ's SMS platform: never a phone number (HQ looks it up).
SMS_FIELDS = frozenset({"customer_id", "ticket", "ahead", "service", "at"})
MAX_EVENT = 64 * 1024
MAX_BATCH = 64 * 1024 * 1024


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
    if env["kind"] == "sms_request":
        _check_sms(env["payload"])
    return env


def _branch_and_day(query: Mapping[str, str]) -> tuple[str, str]:
    """The `branch` and `day` of a report or reconciliation query; the day must be a date."""
    day = query.get("day", "")
    try:
        date.fromisoformat(day)
    except ValueError:
        raise CollectorError(400, "bad_day", "day must be YYYY-MM-DD") from None
    return query.get("branch", ""), day


def _check_sms(payload: dict[str, Any]) -> None:
    """An sms_request names the customer, ticket, people ahead and service, and nothing more."""
    if set(payload) != SMS_FIELDS:
        raise CollectorError(
            400, "malformed", f"an sms_request carries {', '.join(sorted(SMS_FIELDS))}"
        )
    ahead = payload["ahead"]
    if isinstance(ahead, bool) or not isinstance(ahead, int) or ahead < 0:
        raise CollectorError(400, "malformed", "an sms_request's ahead is a count of people")
    if not all(isinstance(payload[k], str) and payload[k] for k in SMS_FIELDS - {"ahead"}):
        raise CollectorError(400, "malformed", "an sms_request's other fields are text")


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


async def _bounded(part: Any, limit: int, what: str) -> bytes:
    """A multipart part's bytes, refused (413) past `limit` without reading it all."""
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise CollectorError(413, "too_large", f"{what} is at most {limit // 1024} KiB")
    return bytes(data)


async def _batch_parts(request: web.Request) -> tuple[bytes, bytes | None]:
    """The batch's JSONL and its day report: a multipart body, or the JSONL alone (v1)."""
    from aiohttp import BodyPartReader

    if request.content_type != "multipart/form-data":
        return await request.read(), None
    parts: dict[str, bytes] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name not in ("events", "report"):
            raise CollectorError(400, "malformed", "a batch has an events and a report part")
        if part.name in parts:
            raise CollectorError(400, "malformed", f"the {part.name} part comes twice")
        limit = MAX_REPORT if part.name == "report" else MAX_BATCH
        parts[part.name] = await _bounded(part, limit, f"the batch's {part.name}")
    if "events" not in parts:
        raise CollectorError(400, "malformed", "the batch has no events part")
    return parts["events"], parts.get("report")


def _batch_refusal(exc: BatchError) -> CollectorError:
    """The HTTP refusal of a batch that does not verify."""
    status = {"tampered": 422, "malformed": 422, "too_large": 413}.get(exc.reason, 401)
    return CollectorError(status, exc.reason, str(exc))


def _refuse(exc: CollectorError) -> web.Response:
    from aiohttp import web

    return web.json_response(
        {"error": {"code": exc.reason, "message": str(exc)}}, status=exc.status
    )


class _Handlers:
    """The collector's HTTP endpoints over one store and the registered branch keys."""

    def __init__(
        self, store: CollectorStore, keys: dict[str, Ed25519PublicKey], anchors: AnchorStore
    ) -> None:
        self.store = store
        self.keys = keys
        self.anchors = anchors

    def branch_key(self, branch_id: str) -> Ed25519PublicKey:
        """The registered outcome key of a branch; 403 for an unknown branch."""
        key = self.keys.get(branch_id)
        if key is None:
            raise CollectorError(403, "unknown_branch", f"branch {branch_id!r} is not registered")
        return key

    def signed_body(
        self, body: bytes, headers: Mapping[str, str], context: bytes = EVENT_CONTEXT
    ) -> tuple[str, Any]:
        """The branch and the JSON of a request body, once its size and signature check out."""
        _check_size(body)
        branch_id = headers.get("Branch-Id", "")
        key = self.branch_key(branch_id)
        try:
            sig = base64.b64decode(headers.get("Branch-Signature", ""), validate=True)
            key.verify(sig, context + body)
        except (binascii.Error, ValueError, InvalidSignature) as exc:
            raise CollectorError(
                401, "bad_signature", "the body is not signed by this branch's outcome key"
            ) from exc
        try:
            return branch_id, json.loads(body)
        except ValueError as exc:
            raise CollectorError(400, "malformed", "the body is not JSON") from exc

    def signed_event(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The event in a request body, once its size, signature and shape check out."""
        branch_id, env = self.signed_body(body, headers)
        return check_envelope(env, branch_id, headers.get("Idempotency-Key"))

    async def post_anchor(self, request: web.Request) -> web.Response:
        """POST /v1/audit-anchors: keep a branch's signed audit head; 409 if it goes backwards."""
        from aiohttp import web

        loop = asyncio.get_running_loop()
        try:
            body = await request.read()
            branch_id, doc = self.signed_body(body, request.headers, ANCHOR_CONTEXT)
            anchor = check_anchor(doc, branch_id)
            verdict = await loop.run_in_executor(None, self.anchors.receive, anchor)
        except CollectorError as exc:
            return _refuse(exc)
        if verdict in ("rolled_back", "forked"):
            held = await loop.run_in_executor(None, self.anchors.latest, branch_id)
            at = held["seq"] if held else "?"
            why = (
                f"the branch's audit log ends at {anchor['seq']} but HQ holds a head at {at}"
                if verdict == "rolled_back"
                else f"the branch's audit log does not continue the head HQ holds at {at}"
            )
            return _refuse(CollectorError(409, verdict, f"{why}: it was rolled back"))
        return web.json_response(
            {"seq": anchor["seq"], "duplicate": verdict == "same"},
            status=201 if verdict == "new" else 200,
        )

    async def get_anchor(self, request: web.Request) -> web.Response:
        """GET /v1/audit-anchors/latest?branch=ID: the highest head HQ holds for a branch."""
        from aiohttp import web

        branch_id = request.query.get("branch", "")
        held = await asyncio.get_running_loop().run_in_executor(
            None, self.anchors.latest, branch_id
        )
        if held is None:
            return _refuse(CollectorError(404, "no_anchor", f"no audit anchor for {branch_id!r}"))
        return web.json_response(held)

    async def post_event(self, request: web.Request) -> web.Response:
        """POST /v1/events: store one signed event once."""
        from aiohttp import web

        loop = asyncio.get_running_loop()
        try:
            env = self.signed_event(await request.read(), request.headers)
            new = await loop.run_in_executor(None, self.store.receive, env)
        except CollectorError as exc:
            return _refuse(exc)
        return web.json_response(
            {"idempotency_key": env["idempotency_key"], "duplicate": not new},
            status=201 if new else 200,
        )

    async def post_batch(self, request: web.Request) -> web.Response:
        """POST /v1/batches: store a day's signed batch and report; answer its reconciliation."""
        from aiohttp import web

        loop = asyncio.get_running_loop()
        try:
            body, report_file = await _batch_parts(request)
            doc = _signature_doc(request.headers.get("Batch-Signature"))
            branch_id = str(doc.get("branch_id", ""))
            try:
                events = verify_batch(body, doc, self.branch_key(branch_id))
                for env in events:
                    check_envelope(env, branch_id)
                verify_report(report_file, doc)
            except BatchError as exc:
                raise _batch_refusal(exc) from exc
            day = str(doc["business_day"])
            kept = None
            if report_file is not None:
                kept = (str(doc["report_sha256"]), report_file.decode())
            await loop.run_in_executor(
                None, self.store.receive_batch, branch_id, day, str(doc["sha256"]), events, kept
            )
            report = await loop.run_in_executor(None, self.store.reconcile, branch_id, day)
        except CollectorError as exc:
            return _refuse(exc)
        return web.json_response(report.to_json(), status=201)

    async def get_report(self, request: web.Request) -> web.Response:
        """GET /v1/reports?branch=ID&day=YYYY-MM-DD: the day report a branch's batch carried."""
        from aiohttp import web

        try:
            branch_id, day = _branch_and_day(request.query)
        except CollectorError as exc:
            return _refuse(exc)
        held = await asyncio.get_running_loop().run_in_executor(
            None, self.store.report, branch_id, day
        )
        if held is None:
            why = f"no day report of {branch_id!r} on {day}"
            return _refuse(CollectorError(404, "no_report", why))
        return web.json_response(held)

    async def get_reconciliation(self, request: web.Request) -> web.Response:
        """GET /v1/reconciliation?branch=ID&day=YYYY-MM-DD."""
        from aiohttp import web

        try:
            branch_id, day = _branch_and_day(request.query)
        except CollectorError as exc:
            return _refuse(exc)
        report = await asyncio.get_running_loop().run_in_executor(
            None, self.store.reconcile, branch_id, day
        )
        return web.json_response(report.to_json())

    async def get_health(self, _request: web.Request) -> web.Response:
        """GET /v1/health: totals."""
        from aiohttp import web

        counts = await asyncio.get_running_loop().run_in_executor(None, self.store.counts)
        return web.json_response({"status": "ok", **counts})


def _create_app(
    store: CollectorStore, keys: dict[str, Ed25519PublicKey], anchors: AnchorStore
) -> web.Application:
    from aiohttp import web

    handlers = _Handlers(store, keys, anchors)
    app = web.Application(client_max_size=MAX_BATCH)
    app.router.add_post("/v1/events", handlers.post_event)
    app.router.add_post("/v1/batches", handlers.post_batch)
    app.router.add_get("/v1/reconciliation", handlers.get_reconciliation)
    app.router.add_get("/v1/reports", handlers.get_report)
    app.router.add_get("/v1/health", handlers.get_health)
    app.router.add_post("/v1/audit-anchors", handlers.post_anchor)
    app.router.add_get("/v1/audit-anchors/latest", handlers.get_anchor)
    return app


async def serve(
    listen: str,
    db: Path | str,
    cert: Path,
    key: Path,
    branch_keys: dict[str, Ed25519PublicKey],
    stop: asyncio.Event | None = None,
    pool_size: int = POOL_SIZE,
) -> None:
    """Serve the collector over HTTPS until SIGINT/SIGTERM (or `stop`).

    `db` is a SQLite file or a `postgresql://` URL; at most `pool_size` requests use it at once.
    """
    from aiohttp import web

    host, _, port = listen.rpartition(":")
    database = open_database(db, pool_size)
    store, anchors = CollectorStore(database), AnchorStore(database)
    loop = asyncio.get_running_loop()
    # The store's calls run in the loop's executor: as many threads as the pool has connections.
    loop.set_default_executor(ThreadPoolExecutor(pool_size, thread_name_prefix="collector-db"))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    runner = web.AppRunner(_create_app(store, branch_keys, anchors), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port), ssl_context=ctx)
    await site.start()
    bound = runner.addresses[0]
    print(f"branch-sync collector: listening on https://{bound[0]}:{bound[1]}", flush=True)
    stop = stop or asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        database.close()
