"""Reading HQ's export for a publish: one line checked, snapshot blocks, the delta merge-join.

The export is JSONL sorted by customer_id without duplicates (docs/hq-interface.md). A snapshot
cuts it into blocks of whole lines; a delta merge-joins it with the previous export. Reasons
for a bad line never quote its content (it holds personal data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from branch_common.identifiers import IdentifierError
from sync.bundle import identifiers_of
from sync.errors import ExportError
from sync.export_fields import check_card_fields

__all__ = ["UNSORTED", "Block", "ExportMerge", "HashingReader", "parse_line", "snapshot_blocks"]

UNSORTED = (
    "customer_id is not greater than the previous line's "
    "(the export must be sorted by customer_id, without duplicates)"
)


@dataclass(frozen=True)
class Block:
    """Export lines for one chunk: numbered from `first`, or by `linenos` (delta upserts)."""

    lines: bytes
    first: int
    linenos: list[int] | None = None

    def lineno(self, i: int) -> int:
        """The export line number of the block's i-th line."""
        return self.linenos[i] if self.linenos is not None else self.first + i


def parse_line(line: bytes) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
    """Parse and check one export line; raise ValueError with a reason free of personal data."""
    if not line.strip():
        raise ValueError("empty line")
    try:
        customer = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    if not isinstance(customer, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 (a reason, not a type check)
    cid = customer.get("customer_id")
    if not isinstance(cid, str) or not cid:
        raise ValueError("customer_id is missing or not a string")
    try:
        ids = identifiers_of(customer)
    except KeyError as exc:
        raise ValueError(f"field {exc} is missing") from None
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None
    except (TypeError, AttributeError):
        raise ValueError("cards/passbooks/id_number have the wrong type") from None
    check_card_fields(customer)  # ExportFieldError is a ValueError: reported like any bad line
    return customer, cid, ids


class HashingReader:
    """Read an export line by line while hashing every byte."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for line in self.fh:
            self.sha.update(line)
            yield line


def snapshot_blocks(fh: BinaryIO, sha: Any, block_bytes: int, max_lines: int) -> Iterator[Block]:
    """Cut the export into blocks of whole lines (about block_bytes, at most max_lines each).

    Reading big buffers and cutting at newlines keeps the parent process light: it never
    makes one Python object per line; the workers parse.
    """
    first, pending, eof = 1, b"", False
    while pending or not eof:
        if not eof and (len(pending) < block_bytes or not pending.endswith(b"\n")):
            raw = fh.read(block_bytes)
            if raw and not raw.endswith(b"\n"):
                raw += fh.readline()  # finish the line the read cut in two
            sha.update(raw)
            eof = not raw
            pending += raw
            if eof and pending and not pending.endswith(b"\n"):
                pending += b"\n"  # the export's last line lacks its newline
            continue
        cut, at = len(pending), -1
        for _ in range(max_lines):
            at = pending.find(b"\n", at + 1)
            if at < 0:
                break
        else:
            cut = at + 1
        block, pending = pending[:cut], pending[cut:]
        yield Block(block, first)
        first += block.count(b"\n")


def _customer_of(line: bytes) -> tuple[str, Any]:
    """The customer id and parsed object of a line; the rest is checked where it is sealed."""
    try:
        customer = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    cid = customer.get("customer_id") if isinstance(customer, dict) else None
    if not isinstance(cid, str) or not cid:
        raise ValueError("customer_id is missing or not a string")
    return cid, customer


def _cid_of(
    line: bytes, lineno: int, label: str, skip: bool, report: list[tuple[int, str]]
) -> tuple[str, Any] | None:
    try:
        return _customer_of(line)
    except ValueError as exc:
        if not skip:
            raise ExportError(lineno, f"{label}{exc}") from None
        report.append((lineno, f"{label}{exc}"))
        return None


class _SortedReader:
    """One export being merged: (customer_id, line, line number, parsed) in ascending order.

    Only the customer id is checked here (one JSON parse per line, the delta's main cost): a
    changed or new line is checked in full by the worker that seals it, an unchanged one was
    checked when the previous export was published.
    """

    def __init__(
        self, lines: Iterator[bytes], label: str, skip: bool, report: list[tuple[int, str]]
    ) -> None:
        self.lines, self.label, self.skip, self.report = lines, label, skip, report
        self.lineno = 0
        self.last = ""

    def next(self) -> tuple[str, bytes, int, Any] | None:
        for line in self.lines:
            self.lineno += 1
            parsed = _cid_of(line, self.lineno, self.label, self.skip, self.report)
            if parsed is None:
                continue
            cid, customer = parsed
            if self.last and cid <= self.last:
                reason = f"{self.label}{UNSORTED}"
                if not self.skip:
                    raise ExportError(self.lineno, reason)
                self.report.append((self.lineno, reason))
                continue
            self.last = cid
            return cid, line if line.endswith(b"\n") else line + b"\n", self.lineno, customer
        return None


class ExportMerge:
    """Merge-join two exports sorted by customer_id into upsert blocks and deleted ids."""

    def __init__(
        self, prev: Iterator[bytes], cur: Iterator[bytes], per_chunk: int, skip: bool
    ) -> None:
        self.skipped: list[tuple[int, str]] = []
        self.prev = _SortedReader(prev, "previous export: ", skip, self.skipped)
        self.cur = _SortedReader(cur, "", skip, self.skipped)
        self.per_chunk = per_chunk
        self.deleted: list[str] = []

    def blocks(self) -> Iterator[Block]:
        p, c = self.prev.next(), self.cur.next()
        buf: list[bytes] = []
        nos: list[int] = []
        while p is not None or c is not None:
            if p is None or (c is not None and c[0] < p[0]):
                assert c is not None  # noqa: S101 (narrowing for mypy; p is None implies c is not)
                buf.append(c[1])
                nos.append(c[2])
                c = self.cur.next()
            elif c is None or p[0] < c[0]:
                self.deleted.append(p[0])
                p = self.prev.next()
            else:
                if p[1] != c[1] and p[3] != c[3]:
                    buf.append(c[1])
                    nos.append(c[2])
                p, c = self.prev.next(), self.cur.next()
            if len(buf) == self.per_chunk:
                yield Block(b"".join(buf), 0, nos)
                buf, nos = [], []
        if buf:
            yield Block(b"".join(buf), 0, nos)
