"""`branch-sync collector`, `reconcile`, `audit-anchor`, `report` and `sms-requests`: HQ's
collector from the shell.

Interface: docs/hq-interface.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

from sync.anchor import AnchorStore
from sync.collector import serve
from sync.collector_db import POOL_SIZE, is_postgres
from sync.collector_store import CollectorError, CollectorStore
from sync.keys import load_signing_public

__all__ = ["add_commands"]


def _branch_key(value: str) -> tuple[str, Path]:
    branch, sep, path = value.partition("=")
    if not sep or not branch or not path:
        raise argparse.ArgumentTypeError(f"expected BRANCH_ID=PUBLIC_KEY_FILE, got {value!r}")
    return branch, Path(path)


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="the collector's SQLite database (the demo's)")
    where.add_argument(
        "--database",
        metavar="URL",
        help="the collector's PostgreSQL database, e.g. postgresql:///collector?host=/run/postgresql",
    )


def _target(args: argparse.Namespace) -> Path | str:
    """The store the command names; a SQLite file must exist already (a URL is checked on use)."""
    if args.database is not None:
        if not is_postgres(args.database):
            raise CollectorError(400, "bad_database", "--database is a postgresql:// URL")
        return str(args.database)
    if not args.db.exists():
        raise CollectorError(404, "no_db", f"{args.db} does not exist")
    return Path(args.db)


def _add_collector(sub: Any) -> None:
    col = sub.add_parser(
        "collector",
        help="run HQ's reference outcome collector (HTTPS)",
        description="Receive branches' outcome events (deduplicated by idempotency key) and "
        "nightly signed batches; report reconciliation. Interface: docs/hq-interface.md.",
    )
    col.add_argument("--listen", required=True, help="HOST:PORT")
    _store_arguments(col)
    col.add_argument(
        "--pool-size",
        type=int,
        default=POOL_SIZE,
        help=f"database connections (and request threads) at most (default {POOL_SIZE})",
    )
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


def add_commands(sub: Any) -> None:
    """Add `collector`, `reconcile`, `audit-anchor`, `report` and `sms-requests` to branch-sync."""
    _add_collector(sub)
    rec = sub.add_parser(
        "reconcile",
        help="print a day's reconciliation of batch against live events",
        description="Exit status 0 when the batch and the live feed match, 1 otherwise.",
    )
    _store_arguments(rec)
    rec.add_argument("--branch", required=True, help="branch id")
    rec.add_argument("--day", required=True, help="business day YYYY-MM-DD")
    rec.set_defaults(func=_cmd_reconcile)
    anc = sub.add_parser(
        "audit-anchor",
        help="write the latest audit head HQ holds for a branch (for audit verify --anchor)",
        description="Exit status 1 when HQ holds no anchor for the branch.",
    )
    _store_arguments(anc)
    anc.add_argument("--branch", required=True, help="branch id")
    anc.add_argument("--out", type=Path, default=None, help="file (default: stdout)")
    anc.set_defaults(func=_cmd_anchor)
    rep = sub.add_parser(
        "report",
        help="print the day report a branch's nightly batch carried (JSON)",
        description="Exit status 1 when HQ holds no report for that branch and day.",
    )
    _store_arguments(rep)
    rep.add_argument("--branch", required=True, help="branch id")
    rep.add_argument("--day", required=True, help="business day YYYY-MM-DD")
    rep.set_defaults(func=_cmd_report)
    sms = sub.add_parser(
        "sms-requests",
        help="print the texts branches asked HQ's SMS platform for (JSON lines)",
        description="One sms_request envelope per line, as stored once per idempotency key.",
    )
    _store_arguments(sms)
    sms.add_argument("--branch", default=None, help="only this branch")
    sms.add_argument("--day", default=None, help="only this business day YYYY-MM-DD")
    sms.set_defaults(func=_cmd_sms_requests)


def _cmd_collector(args: argparse.Namespace) -> int:
    keys = {branch: load_signing_public(path) for branch, path in args.branch_key}
    if args.pool_size < 1:
        raise CollectorError(400, "bad_pool_size", "--pool-size is at least 1")
    target = args.db if args.database is None else _target(args)
    asyncio.run(serve(args.listen, target, args.cert, args.key, keys, pool_size=args.pool_size))
    return 0


def _cmd_reconcile(args: argparse.Namespace) -> int:
    store = CollectorStore(_target(args))
    try:
        report = store.reconcile(args.branch, args.day)
    finally:
        store.close()
    print(json.dumps(report.to_json(), indent=1))
    return 0 if report.ok else 1


def _cmd_anchor(args: argparse.Namespace) -> int:
    anchors = AnchorStore(_target(args))
    try:
        held = anchors.latest(args.branch)
    finally:
        anchors.close()
    if held is None:
        raise CollectorError(404, "no_anchor", f"HQ holds no audit anchor for {args.branch}")
    text = json.dumps(held, indent=1) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        date.fromisoformat(args.day)
    except ValueError:
        raise CollectorError(400, "bad_day", "--day must be YYYY-MM-DD") from None
    store = CollectorStore(_target(args))
    try:
        report = store.report(args.branch, args.day)
    finally:
        store.close()
    if report is None:
        raise CollectorError(404, "no_report", f"HQ holds no report of {args.branch} on {args.day}")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def _cmd_sms_requests(args: argparse.Namespace) -> int:
    if args.day is not None:
        try:
            date.fromisoformat(args.day)
        except ValueError:
            raise CollectorError(400, "bad_day", "--day must be YYYY-MM-DD") from None
    store = CollectorStore(_target(args))
    try:
        envelopes = store.events_of_kind("sms_request", args.branch, args.day)
    finally:
        store.close()
    for env in envelopes:
        print(json.dumps(env, ensure_ascii=False, sort_keys=True))
    return 0
