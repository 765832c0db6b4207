"""The publishing job's split: the bank export cut into byte ranges, each range read by one task.

Each range task writes, for every selection, the range's matching lines to a part file; the
parts of one selection are then joined in range order, so the sub-export is the selection's
lines in export order whichever process read which range. Lines are numbered across ranges
afterwards, from each range's line count.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sync.errors import ExportError
from sync.publish_plan import Split, line_region, selection_name

__all__ = ["RANGE_BYTES", "Runner", "byte_ranges", "run_here", "split_export"]

RANGE_BYTES = 64 << 20  # one task reads about this much of the export
_MAX_REPORTED = 1_000
_FLUSH_BYTES = 1 << 20  # buffered per selection, so 1,300 selections never hold 1,300 open files

T = TypeVar("T")
Selection = tuple[str, ...]
Runner = Callable[[Callable[..., Any], list[tuple[Any, ...]]], list[Any]]


def run_here(fn: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
    """Run every call in this process, in order (the single-process job)."""
    return [fn(*args) for args in calls]


@dataclass(frozen=True)
class RangeSplit:
    """What one range gave: its lines, per-selection counts, bad lines (numbered in the range)."""

    lines: int
    counts: dict[Selection, int]
    bad: list[tuple[int, str]]
    bad_count: int


def byte_ranges(export: Path, size: int) -> list[tuple[int, int]]:
    """Cut the export into ranges of about `size` bytes, each starting at a line's start."""
    total = export.stat().st_size
    starts = [0]
    with export.open("rb") as fh:
        while starts[-1] + size < total:
            fh.seek(starts[-1] + size - 1)
            fh.readline()  # to the end of the line holding the byte before the cut
            if fh.tell() >= total:
                break
            starts.append(fh.tell())
    return list(zip(starts, [*starts[1:], total], strict=True))


def _part(folder: Path, sel: Selection, index: int) -> Path:
    return folder / f"{selection_name(sel)}.part{index:06d}"


def split_range(
    export: Path, start: int, end: int, selections: list[Selection], folder: Path, index: int
) -> RangeSplit:
    """Write the range's lines of each selection to its part file (runs in a worker)."""
    by_prefix: dict[str, list[Selection]] = {}
    for sel in selections:
        for prefix in sel:
            by_prefix.setdefault(prefix, []).append(sel)
    buffers = {sel: bytearray() for sel in selections}
    counts = dict.fromkeys(selections, 0)
    bad: list[tuple[int, str]] = []
    bad_count = lineno = 0

    def flush(sel: Selection) -> None:
        with _part(folder, sel, index).open("ab") as fh:
            fh.write(buffers[sel])
        buffers[sel].clear()

    for sel in selections:
        _part(folder, sel, index).write_bytes(b"")  # a retried task starts its parts afresh
    with export.open("rb") as fh:
        fh.seek(start)
        pos = start
        for line in fh:
            if pos >= end:
                break
            pos += len(line)
            lineno += 1
            try:
                region = line_region(line)
            except ValueError as exc:
                bad_count += 1
                if len(bad) < _MAX_REPORTED:
                    bad.append((lineno, str(exc)))
                continue
            for sel in {s for n in range(1, 7) for s in by_prefix.get(region[:n], ())}:
                buffers[sel] += line if line.endswith(b"\n") else line + b"\n"
                counts[sel] += 1
                if len(buffers[sel]) >= _FLUSH_BYTES:
                    flush(sel)
    for sel in selections:
        flush(sel)
    return RangeSplit(lineno, counts, bad, bad_count)


def join_parts(folder: Path, sel: Selection, parts: int) -> Path:
    """Join a selection's part files in range order into its sub-export (runs in a worker)."""
    path = folder / selection_name(sel)
    pieces = [_part(folder, sel, index) for index in range(parts)]
    if not path.exists():  # it appears whole (rename) or not at all: a retry may find it done
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        tmp.replace(path)
    for piece in pieces:
        piece.unlink(missing_ok=True)
    return path


def split_export(
    export: Path,
    selections: list[Selection],
    staging: Path,
    skip: bool,
    *,
    range_bytes: int = RANGE_BYTES,
    run: Runner = run_here,
) -> Split:
    """Read the export once, in ranges run by `run`, into one sub-export per selection."""
    staging.mkdir(parents=True, exist_ok=True)
    distinct = list(dict.fromkeys(selections))
    ranges = byte_ranges(export, range_bytes)
    calls = [(export, a, b, distinct, staging, i) for i, (a, b) in enumerate(ranges)]
    results: list[RangeSplit] = run(split_range, calls)
    split = Split()
    for result in results:
        split.skipped += [(split.lines + n, why) for n, why in result.bad]
        split.skipped_count += result.bad_count
        split.lines += result.lines
        for sel, count in result.counts.items():
            split.counts[sel] = split.counts.get(sel, 0) + count
    del split.skipped[_MAX_REPORTED:]
    if split.skipped and not skip:
        raise ExportError(*split.skipped[0])
    paths: list[Path] = run(join_parts, [(staging, sel, len(ranges)) for sel in distinct])
    split.files = dict(zip(distinct, paths, strict=True))
    return split
