"""Audit anchors: the hub's signed audit-log head, held at HQ so a restored older log is caught.

The hub asks for the latest anchor HQ holds, then posts its current head (seq, chain MAC, time,
head MAC) to `POST /v1/audit-anchors` with the chain MAC its own log has at HQ's latest seq,
signed like a live event by its outcome key. The collector keeps every anchor and answers 409 to
one that goes backwards (a lower seq than it holds) or does not continue the chain it holds (the
same seq with another MAC, or another MAC at HQ's seq): the branch's log was rolled back. `branch-sync audit-anchor --db FILE --branch ID` writes the
latest anchor as JSON for `branch-provision audit verify --anchor FILE`. Interface:
docs/hq-interface.md, "Audit anchors".
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.collector_db import Database, Tx, open_database
from sync.collector_store import CollectorError
from sync.errors import SyncError

__all__ = [
    "ANCHOR_CONTEXT",
    "AnchorStore",
    "anchor_body",
    "check_anchor",
    "fetch_latest",
    "post_anchor",
]

ANCHOR_CONTEXT = b"branch-edge/v1 audit anchor\x00"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("seq", "chain_mac", "at", "head_mac")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_anchors (
    branch_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    chain_mac TEXT NOT NULL,
    at TEXT NOT NULL,
    head_mac TEXT NOT NULL,
    received_at TEXT NOT NULL,
    verdict TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_anchors_branch ON audit_anchors (branch_id, seq);
"""


def anchor_body(branch_id: str, head: dict[str, Any], prev: tuple[int, str | None] | None) -> bytes:
    """The request body: the branch, the head's fields and the hub's MAC at HQ's latest seq."""
    doc = {"v": 1, "branch_id": branch_id} | {k: head[k] for k in _FIELDS}
    doc |= {"prev_seq": prev[0] if prev else None, "prev_chain_mac": prev[1] if prev else None}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def check_anchor(doc: Any, branch_id: str) -> dict[str, Any]:
    """Validate an anchor's shape; raise CollectorError(400) if it is not one."""
    if not isinstance(doc, dict) or doc.get("v") != 1:
        raise CollectorError(400, "malformed", "an anchor is a JSON object with v 1")
    if doc.get("branch_id") != branch_id:
        raise CollectorError(400, "branch_mismatch", "branch_id differs from the signed branch")
    seq = doc.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise CollectorError(400, "malformed", "seq is a whole number")
    if not all(_HEX64.fullmatch(str(doc.get(k, ""))) for k in ("chain_mac", "head_mac")):
        raise CollectorError(400, "malformed", "chain_mac and head_mac are 64 hex digits")
    try:
        datetime.fromisoformat(str(doc.get("at")))
    except ValueError as exc:
        raise CollectorError(400, "malformed", "at is not an ISO time") from exc
    prev = doc.get("prev_seq"), doc.get("prev_chain_mac")
    if prev[0] is not None and (not isinstance(prev[0], int) or isinstance(prev[0], bool)):
        raise CollectorError(400, "malformed", "prev_seq is a whole number or null")
    if prev[1] is not None and not _HEX64.fullmatch(str(prev[1])):
        raise CollectorError(400, "malformed", "prev_chain_mac is 64 hex digits or null")
    return {"branch_id": branch_id, "prev_seq": prev[0], "prev_chain_mac": prev[1]} | {
        k: doc[k] for k in _FIELDS
    }


def fetch_latest(
    session: requests.Session, collector_url: str, branch_id: str, timeout_s: float
) -> dict[str, Any] | None:
    """The latest anchor HQ holds for the branch (None if none); SyncError if HQ cannot say."""
    try:
        resp = session.get(
            f"{collector_url.rstrip('/')}/v1/audit-anchors/latest",
            params={"branch": branch_id},
            timeout=timeout_s,
        )
    except requests.RequestException as exc:
        raise SyncError(f"HQ collector unreachable: {type(exc).__name__}") from exc
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise SyncError(f"HQ answered HTTP {resp.status_code} for its latest audit anchor")
    held: dict[str, Any] = resp.json()
    return held


def post_anchor(
    session: requests.Session,
    collector_url: str,
    branch_id: str,
    key: Ed25519PrivateKey,
    head: dict[str, Any],
    prev: tuple[int, str | None] | None,
    timeout_s: float,
) -> int:
    """POST a head to HQ (the session pins HQ's CA); return the HTTP status (0: unreachable).

    `prev` is HQ's latest seq and the chain MAC this hub's log has there (None if it has none).
    """
    body = anchor_body(branch_id, head, prev)
    headers = {
        "Content-Type": "application/json",
        "Branch-Id": branch_id,
        "Branch-Signature": base64.b64encode(key.sign(ANCHOR_CONTEXT + body)).decode("ascii"),
    }
    try:
        resp = session.post(
            f"{collector_url.rstrip('/')}/v1/audit-anchors",
            data=body,
            headers=headers,
            timeout=timeout_s,
        )
    except requests.RequestException:
        return 0
    return resp.status_code


class AnchorStore:
    """The anchors HQ received, in the collector's database (its own table)."""

    def __init__(self, target: Path | str | Database) -> None:
        self._owns = not isinstance(target, Database)
        self._db = target if isinstance(target, Database) else open_database(target)
        self._db.ensure(_SCHEMA)

    def close(self) -> None:
        """Close the database if this store opened it."""
        if self._owns:
            self._db.close()

    def receive(self, anchor: dict[str, Any]) -> str:
        """Keep an anchor; return its verdict: `new`, `same`, `rolled_back` or `forked`."""
        with self._db.write() as tx:
            tx.lock(f"anchor:{anchor['branch_id']}")  # one branch's heads are judged in turn
            verdict = _verdict(anchor, _latest(tx, anchor["branch_id"]))
            if verdict != "same":
                now = datetime.now(UTC).isoformat(timespec="milliseconds")
                tx.run(
                    "INSERT INTO audit_anchors (branch_id, seq, chain_mac, at, head_mac,"
                    " received_at, verdict) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*(anchor[k] for k in ("branch_id", *_FIELDS)), now, verdict),
                )
            return verdict

    def latest(self, branch_id: str) -> dict[str, Any] | None:
        """The highest anchor of a branch HQ accepted (what verify compares against)."""
        with self._db.read() as tx:
            return _latest(tx, branch_id)

    def alarms(self, branch_id: str) -> int:
        """How many anchors of a branch went backwards (rolled back or forked)."""
        with self._db.read() as tx:
            row = tx.one(
                "SELECT count(*) FROM audit_anchors WHERE branch_id = ? AND verdict != 'new'",
                (branch_id,),
            )
        return int(row[0]) if row else 0


def _latest(tx: Tx, branch_id: str) -> dict[str, Any] | None:
    row = tx.one(
        "SELECT seq, chain_mac, at, head_mac, received_at FROM audit_anchors "
        "WHERE branch_id = ? AND verdict = 'new' ORDER BY seq DESC LIMIT 1",
        (branch_id,),
    )
    if row is None:
        return None
    keys = ("seq", "chain_mac", "at", "head_mac", "received_at")
    return {"v": 1, "branch_id": branch_id} | dict(zip(keys, row, strict=True))


def _verdict(anchor: dict[str, Any], held: dict[str, Any] | None) -> str:
    """How an anchor relates to the latest one HQ holds for its branch."""
    if held is None:
        return "new"
    if anchor["seq"] < held["seq"]:
        return "rolled_back"
    if anchor["seq"] == held["seq"]:
        return "same" if anchor["chain_mac"] == held["chain_mac"] else "forked"
    follows = (anchor.get("prev_seq"), anchor.get("prev_chain_mac"))
    return "new" if follows == (held["seq"], held["chain_mac"]) else "forked"
