"""SIMULATION of HQ's core banking system, for demos and tests: accepted leads become purchases.

Real HQ fills the export's `leads[].confirmed` from its own core system (docs/hq-interface.md).
This stand-in plays that system: it reads the leads HQ's reference collector received as
`accepted` (its SQLite store, opened read-only, or its PostgreSQL database) and marks a deterministic share of them in the
export as purchased, 1-5 days after the acceptance (never after `as_of`), of one of the lead's
catalogue products. A lead is drawn by a hash of the seed, customer and lead, so a later run
over more accepted leads keeps every earlier mark; confirmations already in the export stay.
The output is a new export: published with `--previous` the old one, the changed customers
travel to the branch as a delta.

`branch-sync confirm (--collector-db FILE | --database URL) --export IN --out OUT [--branch ID]
[--share 0.4] [--seed N] [--as-of YYYY-MM-DD]`
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from sync.collector_db import is_postgres, open_database
from sync.errors import ExportError, SyncError

__all__ = ["Accepted", "ConfirmResult", "Purchase", "accepted_leads", "add_commands", "confirm"]

MAX_DAYS_TO_BUY = 5


@dataclass(frozen=True)
class Accepted:
    """A lead a branch reported as accepted, the first time HQ received it."""

    branch_id: str
    customer_id: str
    lead_id: str
    business_day: date


@dataclass(frozen=True)
class Purchase:
    """An accepted lead the simulated core system saw become a purchase."""

    accepted: Accepted
    purchased_on: date
    product: str

    def field(self) -> dict[str, str]:
        """The lead's `confirmed` export field."""
        return {"purchased_on": self.purchased_on.isoformat(), "product": self.product}


@dataclass
class ConfirmResult:
    """What a run marked: new purchases, confirmations the export already had, leads accepted."""

    purchases: list[Purchase] = field(default_factory=list)
    already: int = 0
    accepted: int = 0


def _outcome_rows(collector: Path | str, sql: str, params: tuple[str, ...]) -> list[Any]:
    """Run one read-only query on the collector's SQLite file or PostgreSQL database."""
    if is_postgres(collector):
        try:
            database = open_database(collector, pool_size=1)
        except Exception as exc:  # psycopg's errors: the URL names no reachable database
            raise SyncError(f"cannot open the collector's database: {exc}") from None
        try:
            with database.read() as tx:
                return tx.all(sql, params)
        except Exception as exc:  # psycopg's errors: the database holds no collector tables
            raise SyncError(f"cannot read the collector's database: {exc}") from None
        finally:
            database.close()
    path = Path(collector)
    if not path.is_file():
        raise SyncError(f"--collector-db {path}: no such file")
    try:
        with sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise SyncError(f"cannot read the collector's store {path}: {exc}") from None


def accepted_leads(collector: Path | str, branch_id: str | None = None) -> list[Accepted]:
    """Leads the collector received as accepted (the first acceptance of each), read-only."""
    sql = "SELECT branch_id, business_day, envelope FROM events WHERE kind = 'lead_outcome'"
    params: tuple[str, ...] = ()
    if branch_id is not None:
        sql, params = sql + " AND branch_id = ?", (branch_id,)
    rows = _outcome_rows(collector, sql + " ORDER BY business_day, idempotency_key", params)
    first: dict[tuple[str, str], Accepted] = {}
    for branch, day, envelope in rows:
        payload = orjson.loads(envelope).get("payload") or {}
        if payload.get("outcome") != "accepted":
            continue
        key = (str(payload.get("customer_id")), str(payload.get("lead_id")))
        if key not in first:
            first[key] = Accepted(branch, *key, date.fromisoformat(day))
    return list(first.values())


def _purchase(
    accepted: Accepted, lead: Mapping[str, Any], share: float, seed: int, as_of: date
) -> Purchase | None:
    """The deterministic draw: bought or not, when, and which of the lead's products."""
    codes = [str(c) for c in lead.get("product_codes") or ()]
    if not codes:
        return None  # a lead naming no catalogue product has nothing to confirm
    text = f"{seed}\0{accepted.customer_id}\0{accepted.lead_id}".encode()
    digest = hashlib.sha256(text).digest()
    if int.from_bytes(digest[:8]) / 2**64 >= share:
        return None
    bought = accepted.business_day + timedelta(days=1 + digest[8] % MAX_DAYS_TO_BUY)
    if bought > as_of:
        return None  # not happened yet by the core system's day
    return Purchase(accepted, bought, codes[digest[9] % len(codes)])


def _confirm_line(
    customer: dict[str, Any],
    accepted: Mapping[tuple[str, str], Accepted],
    draw: Any,
    result: ConfirmResult,
) -> bool:
    """Mark one customer's accepted leads; True when the line changed."""
    changed = False
    for lead in customer.get("leads") or ():
        found = accepted.get((str(customer["customer_id"]), str(lead.get("lead_id"))))
        if found is None:
            continue
        result.accepted += 1
        if lead.get("confirmed") is not None:
            result.already += 1
            continue
        purchase = draw(found, lead)
        if purchase is not None:
            lead["confirmed"] = purchase.field()
            result.purchases.append(purchase)
            changed = True
    return changed


def confirm(
    export: Path,
    out: Path,
    accepted: list[Accepted],
    *,
    share: float,
    seed: int,
    as_of: date,
) -> ConfirmResult:
    """Write `out`: the export with the drawn purchases confirmed (other lines byte for byte)."""
    by_lead = {(a.customer_id, a.lead_id): a for a in accepted}
    result = ConfirmResult()

    def draw(found: Accepted, lead: Mapping[str, Any]) -> Purchase | None:
        return _purchase(found, lead, share, seed, as_of)

    part = out.with_name(out.name + ".part")
    with export.open("rb") as src, part.open("wb") as dst:
        for number, line in enumerate(src, 1):
            try:
                customer = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise ExportError(number, "not valid JSON") from None
            if isinstance(customer, dict) and _confirm_line(customer, by_lead, draw, result):
                line = orjson.dumps(customer) + b"\n"
            dst.write(line)
    part.replace(out)
    return result


def _share(value: str) -> float:
    try:
        share = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction 0..1, got {value!r}") from None
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return share


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def add_commands(sub: Any) -> None:
    """Add `confirm` to branch-sync's subcommands."""
    cmd = sub.add_parser(
        "confirm",
        help="SIMULATION of HQ's core system: mark a share of accepted leads as purchased",
        description="Demo/test stand-in for HQ's core banking system: read the leads the "
        "collector received as accepted and write the export again with a deterministic share "
        "of them confirmed as purchased (leads[].confirmed). Publish the result with --previous "
        "the input to send the change as a delta. Real HQ fills the field from its own system.",
    )
    store = cmd.add_mutually_exclusive_group(required=True)
    store.add_argument("--collector-db", type=Path, help="the collector's SQLite store")
    store.add_argument(
        "--database", metavar="URL", help="the collector's PostgreSQL database (postgresql://...)"
    )
    cmd.add_argument("--export", type=Path, required=True, help="HQ export to start from (JSONL)")
    cmd.add_argument("--out", type=Path, required=True, help="the export with confirmations")
    cmd.add_argument("--branch", default=None, help="only this branch's acceptances (default all)")
    cmd.add_argument("--share", type=_share, default=0.4, help="share bought (default 0.4)")
    cmd.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    cmd.add_argument(
        "--as-of", type=_day, default=None, help="the core system's day: no later purchase"
    )
    cmd.set_defaults(func=_cmd_confirm)


def _cmd_confirm(args: argparse.Namespace) -> int:
    if not args.export.is_file():
        raise SyncError(f"--export {args.export}: no such file")
    if args.out.resolve() == args.export.resolve():
        raise SyncError("--out must differ from --export (it is the next publish's --previous)")
    if args.database is not None and not is_postgres(args.database):
        raise SyncError("--database is a postgresql:// URL")
    accepted = accepted_leads(args.database or args.collector_db, args.branch)
    result = confirm(
        args.export,
        args.out,
        accepted,
        share=args.share,
        seed=args.seed,
        as_of=args.as_of or date.today(),
    )
    print(
        f"confirm (simulated core system): {len(result.purchases)} newly purchased, "
        f"{result.already} already confirmed, of {result.accepted} accepted leads in the export "
        f"-> {args.out}",
        file=sys.stderr,
    )
    return 0
