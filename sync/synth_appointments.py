"""Synthetic appointments with the QR codes HQ texts the customers (`branch-sync synth`).

A share of customers gets one booking on the chosen day: a 30-minute window between 09:00 and
17:00 (branch-local), a service of the sample branch that is booked (accounts, wealth advice,
loans), and a QR code. The export carries only the code's SHA-256 (`code_digest`); the plain
codes go to a file of their own beside the export (HQ's SMS side, 0600), never into the bundle.
Synthetic tokens come from the seed like everything else here (reproducible); HQ's real codes
are `secrets.token_urlsafe(16)` or longer.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import io
import os
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from sync.errors import SyncError
from sync.export_appointments import appointment_code, code_digest

__all__ = [
    "APPOINTMENT_SERVICES",
    "add_appointment",
    "add_booking_options",
    "booking_day",
    "booking_options",
    "codes_path",
    "write_codes",
]

# The sample branch's services a customer books, and who receives them.
APPOINTMENT_SERVICES = (
    ("wealth", "wealth_manager"),
    ("loan", "account_manager"),
    ("account", None),
)
_FIRST, _SLOTS = time(9, 0), 16  # 09:00 to 17:00 in half hours
CODES_HEADER = ("customer_id", "appointment_id", "window_start", "qr_text")


def _token(seed: int, customer_id: str, appointment_id: str) -> str:
    """128 bits for this booking, derived from the seed (22 URL-safe characters)."""
    key = f"branch-edge/{seed}/appointment-codes".encode()
    mac = hmac.new(key, f"{customer_id}/{appointment_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode("ascii")


def add_appointment(
    rng: random.Random, customer: dict[str, Any], seed: int, day: date, share: float
) -> None:
    """Book the customer on `day` with probability `share` (one draw per customer, always)."""
    draw, slot, service = rng.random(), rng.randrange(_SLOTS), rng.randrange(3)
    if draw >= share:
        return
    start = datetime.combine(day, _FIRST) + timedelta(minutes=30 * slot)
    code, role = APPOINTMENT_SERVICES[service]
    ident = f"SMS-{customer['customer_id']}-{day:%Y%m%d}"
    customer["appointments"] = [
        {
            "id": ident,
            "service": code,
            "window_start": start.isoformat(timespec="minutes"),
            "window_end": (start + timedelta(minutes=30)).isoformat(timespec="minutes"),
            "advisor_role": role,
            "advisor": None,
            "channel": "mobile_banking",
            "code_digest": code_digest(_token(seed, customer["customer_id"], ident)),
        }
    ]


def booking_day(on: str, timezone: str) -> date:
    """`on` as a date: YYYY-MM-DD, or "today" in the branch's time zone; ValueError otherwise."""
    if on != "today":
        return date.fromisoformat(on)
    try:
        return datetime.now(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}") from exc


def codes_path(export: Path) -> Path:
    """Where the plain codes go: beside the export, `<name>.appointment-codes.csv`."""
    return export.with_name(f"{export.stem}.appointment-codes.csv")


def write_codes(export: Path, seed: int, out: Path) -> int:
    """Write the QR text of every synthetic booking in `export` to `out` (0600); return how many."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CODES_HEADER)
    count = 0
    with export.open("rb") as lines:
        for line in lines:
            customer = orjson.loads(line)
            for item in customer.get("appointments") or []:
                token = _token(seed, customer["customer_id"], item["id"])
                if item.get("code_digest") != code_digest(token):
                    continue  # not one of ours (HQ's own bookings have no synthetic code)
                row = (customer["customer_id"], item["id"], item["window_start"])
                writer.writerow((*row, appointment_code(token)))
                count += 1
    tmp = out.with_name(out.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(buffer.getvalue())
    tmp.replace(out)
    return count


def add_booking_options(synth: Any) -> None:
    """synth's options for HQ's bookings and the QR codes texted to the customers."""
    synth.add_argument(
        "--appointments-on",
        nargs="?",
        const="today",
        default=None,
        metavar="DATE",
        help="book a share of customers on DATE (YYYY-MM-DD; alone: today in --timezone) between "
        "09:00 and 17:00, each with a QR code; the plain codes go to "
        "<out stem>.appointment-codes.csv beside the export, only their SHA-256 into it",
    )
    synth.add_argument(
        "--appointment-share",
        type=float,
        default=0.05,
        help="share of customers booked (default 0.05)",
    )
    synth.add_argument(
        "--timezone",
        default="Asia/Shanghai",
        help="the branch's time zone, for today's date (default Asia/Shanghai)",
    )


def booking_options(args: argparse.Namespace) -> dict[str, Any]:
    """--appointments-on (a date, or today in --timezone) and --appointment-share."""
    if not 0.0 <= args.appointment_share <= 1.0:
        raise SyncError("--appointment-share must be between 0 and 1")
    try:
        day = booking_day(args.appointments_on, args.timezone)
    except ValueError as exc:
        raise SyncError(f"--appointments-on: {exc}") from exc
    return {"appointments_on": day, "appointment_share": args.appointment_share}
