"""Who the simulators present: synthetic customers handed in by the caller, never invented here.

An `Identity` is one synthetic customer (name, resident ID number, and one bank card). Callers
build them from the synthetic HQ export (`load_export`, one JSON object per line, the schema of
docs/hq-interface.md) or take the small built-in set `BUILT_IN`. None of them is a real person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from branch_common.identifiers import is_valid_id_number, luhn_valid

__all__ = [
    "BUILT_IN",
    "Identity",
    "IdentityError",
    "identities_for",
    "identity_from_export",
    "load_export",
]


class IdentityError(ValueError):
    """A synthetic identity or export line that cannot be used."""


@dataclass(frozen=True)
class Identity:
    """One synthetic customer as the simulators present them; personal fields stay out of repr."""

    name: str = field(repr=False)
    id_number: str = field(repr=False)
    gender: str  # M or F
    birth_date: str  # ISO date
    region_code: str  # GB/T 2260 district code
    pan: str | None = field(default=None, repr=False)
    expiry: str | None = None  # YYMM
    account: str | None = field(default=None, repr=False)  # a passbook account

    def __post_init__(self) -> None:
        if not is_valid_id_number(self.id_number):
            raise IdentityError("identity: the ID number fails its GB 11643 check")
        if self.gender not in ("M", "F"):
            raise IdentityError("identity: gender is M or F")
        try:
            date.fromisoformat(self.birth_date)
        except ValueError as exc:
            raise IdentityError("identity: birth_date is not an ISO date") from exc
        if self.pan is not None and not (luhn_valid(self.pan) and self.expiry):
            raise IdentityError("identity: the PAN fails its Luhn check or has no expiry")


def _card(cards: Iterable[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    listed = [c for c in cards if isinstance(c, Mapping) and isinstance(c.get("pan"), str)]
    # UnionPay (62...) first: the virtual chip cards carry UnionPay applications.
    listed.sort(key=lambda c: not str(c["pan"]).startswith("62"))
    if not listed:
        return None, None
    return str(listed[0]["pan"]), str(listed[0].get("expiry") or "") or None


def identity_from_export(record: Mapping[str, Any]) -> Identity:
    """Build an identity from one customer object of the synthetic HQ export."""
    try:
        pan, expiry = _card(record.get("cards") or [])
        books = [b for b in record.get("passbooks") or [] if isinstance(b, Mapping)]
        return Identity(
            name=str(record["name"]),
            id_number=str(record["id_number"]),
            gender=str(record["gender"]),
            birth_date=str(record["birth_date"]),
            region_code=str(record.get("region_code") or str(record["id_number"])[:6]),
            pan=pan,
            expiry=expiry,
            account=str(books[0]["account"]) if books and "account" in books[0] else None,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise IdentityError(f"export record lacks a field: {exc}") from exc


def load_export(path: str | Path, limit: int | None = None) -> list[Identity]:
    """Read identities from a synthetic export file (JSON lines), at most `limit` of them."""
    out: list[Identity] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if limit is not None and len(out) >= limit:
                    break
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise IdentityError(f"{path}:{number}: not JSON ({exc.msg})") from exc
                if not isinstance(record, dict):
                    raise IdentityError(f"{path}:{number}: not a JSON object")
                out.append(identity_from_export(record))
    except OSError as exc:
        raise IdentityError(f"cannot read {path}: {exc.strerror}") from exc
    if not out:
        raise IdentityError(f"{path}: no customers in the export")
    return out


def identities_for(export: str | Path | None, limit: int = 50) -> list[Identity]:
    """The first `limit` customers of an export file, or the built-in ones without a file."""
    return load_export(export, limit) if export else list(BUILT_IN)


# A few customers taken once from the synthetic generator (seed 11): check digits are valid,
# the people do not exist.
BUILT_IN: tuple[Identity, ...] = (
    Identity(
        "曾帆建", "330203196603101593", "M", "1966-03-10", "330203", "6282883856236943", "2809"
    ),
    Identity("周雪", "110105197205061662", "F", "1972-05-06", "110105", "6225883730717969", "2803"),
    Identity(
        "李雨", "350102198111136301", "F", "1981-11-13", "350102", "6228488866622967442", "2610"
    ),
    Identity(
        "张怡思", "110105196211020205", "F", "1962-11-02", "110105", "6212264127816868399", "3306"
    ),
    Identity(
        "白华军", "110101198601115473", "M", "1986-01-11", "110101", "6214830406489350", "2902"
    ),
    Identity(
        "张建成", "110105196610154331", "M", "1966-10-15", "110105", "6222024606647365873", "3507"
    ),
)
