"""HQ's publishing job plan: the branch list (who gets which customers) and the one-pass split.

A branch's customers are those whose `region_code` (GB/T 2260: province 2 digits, city 4,
district 6) starts with one of the branch's `regions`; by default a branch serves its province.
The bank-wide export is read once and cut into one sub-export per distinct selection
(`sync.publish_split`), so the branches of one province share one file. Format of the branch
list: docs/sync.md.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sync.errors import PublishError

__all__ = ["BranchSpec", "JobSettings", "Split", "line_region", "read_branches", "selection_name"]

_BRANCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # also a folder name under --out
_REGION = re.compile(r"[1-9]\d{0,5}")


@dataclass(frozen=True)
class BranchSpec:
    """One branch of the job: its id, its hub's sync public key, its customers' region prefixes."""

    branch_id: str
    hub_public_key: Path
    regions: tuple[str, ...]
    key_id: str | None = None

    @property
    def selection(self) -> tuple[str, ...]:
        """The branch's customer selection (sorted prefixes), shared by branches alike."""
        return tuple(sorted(set(self.regions)))


@dataclass(frozen=True)
class JobSettings:
    """Where the job runs: a LocalCluster of `workers` processes, or a running scheduler."""

    workers: int | None = None
    threads_per_worker: int = 1
    scheduler: str | None = None
    retries: int = 2


def _whole(job: dict[str, Any], name: str, default: int | None, least: int) -> int | None:
    value = job.get(name, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise PublishError(f"[job] {name} must be a whole number >= {least}")
    return value


def _settings(job: Any) -> JobSettings:
    if not isinstance(job, dict):
        raise PublishError("[job] must be a table")
    unknown = set(job) - {"workers", "threads_per_worker", "scheduler", "retries"}
    if unknown:
        raise PublishError(f"[job] has unknown keys: {', '.join(sorted(unknown))}")
    scheduler = job.get("scheduler") or None
    if scheduler is not None and not isinstance(scheduler, str):
        raise PublishError("[job] scheduler must be an address such as tcp://host:8786")
    return JobSettings(
        workers=_whole(job, "workers", None, 1),
        threads_per_worker=_whole(job, "threads_per_worker", 1, 1) or 1,
        scheduler=scheduler,
        retries=_whole(job, "retries", 2, 0) or 0,
    )


def _branch(n: int, raw: Any, base: Path) -> BranchSpec:
    where = f"[[branch]] {n}"
    if not isinstance(raw, dict):
        raise PublishError(f"{where} must be a table")
    unknown = set(raw) - {"id", "hub_public_key", "regions", "key_id"}
    if unknown:
        raise PublishError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    branch_id = raw.get("id")
    if not isinstance(branch_id, str) or not _BRANCH_ID.fullmatch(branch_id):
        raise PublishError(f"{where}: id must be 1-64 letters, digits, '-' or '_'")
    key = raw.get("hub_public_key")
    if not isinstance(key, str) or not key:
        raise PublishError(f"{where} ({branch_id}): hub_public_key must name a file")
    regions = raw.get("regions")
    if (
        not isinstance(regions, list)
        or not regions
        or not all(isinstance(r, str) and _REGION.fullmatch(r) for r in regions)
    ):
        raise PublishError(
            f"{where} ({branch_id}): regions must be a non-empty list of region code prefixes "
            '(1-6 digits, e.g. "44" for a province)'
        )
    key_id = raw.get("key_id")
    if key_id is not None and (not isinstance(key_id, str) or not key_id):
        raise PublishError(f"{where} ({branch_id}): key_id must be a non-empty string")
    return BranchSpec(branch_id, base / key, tuple(regions), key_id)


def read_branches(path: Path) -> tuple[list[BranchSpec], JobSettings]:
    """Read and check the job's branch list (TOML); relative key paths are from its folder."""
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise PublishError(f"--branches {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PublishError(f"--branches {path}: not valid TOML ({exc})") from exc
    raw = doc.get("branch")
    if not isinstance(raw, list) or not raw:
        raise PublishError(f"--branches {path}: no [[branch]] tables")
    branches = [_branch(n, item, path.parent) for n, item in enumerate(raw, 1)]
    seen: set[str] = set()
    for spec in branches:
        if spec.branch_id in seen:
            raise PublishError(f"--branches {path}: branch {spec.branch_id} is listed twice")
        seen.add(spec.branch_id)
    try:
        return branches, _settings(doc.get("job", {}))
    except PublishError as exc:
        raise PublishError(f"--branches {path}: {exc}") from exc


def selection_name(selection: tuple[str, ...]) -> str:
    """The file name of a selection's sub-export."""
    return "sel-" + hashlib.sha256(" ".join(selection).encode()).hexdigest()[:16] + ".jsonl"


@dataclass
class Split:
    """The sub-exports of one split: file and line count per selection, lines read, skipped."""

    files: dict[tuple[str, ...], Path] = field(default_factory=dict)
    counts: dict[tuple[str, ...], int] = field(default_factory=dict)
    lines: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # the first 1,000
    skipped_count: int = 0


def line_region(line: bytes) -> str:
    """The region_code of an export line; ValueError (without its content) if it has none."""
    try:
        customer = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    region = customer.get("region_code") if isinstance(customer, dict) else None
    if not isinstance(region, str) or not region.isdigit():
        raise ValueError("region_code is missing or not digits")
    return region
