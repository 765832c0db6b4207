"""HQ's publishing job: every listed branch's bundle from one nightly export, on Dask distributed.

The export (and `previous`, for deltas) is read once, one task per byte range, into one
sub-export per selection (`sync.publish_split`); then one task per branch publishes into
`OUT/<branch_id>/`, on a LocalCluster started here or on a running scheduler. Bundles are deterministic (`sync.sealing`, `sync.keys`), so a retried task, a
single-process run and a cluster run write the same bytes. Workers read HQ's signing key from
its path themselves: the key never travels over Dask's wire.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.bundle import open_envelope, utc_now
from sync.errors import PublishError, SyncError
from sync.keys import load_hub_public, load_signing_private
from sync.publish_plan import BranchSpec, JobSettings, Split
from sync.publish_split import RANGE_BYTES, Runner, run_here, split_export
from sync.publisher import publish, read_pointer

__all__ = ["BranchOutcome", "JobResult", "PublishJob", "publish_branch", "run_job"]


@dataclass(frozen=True)
class PublishJob:
    """What one run publishes: the export(s), the branches, the keys' paths, the output root."""

    export: Path
    branches: tuple[BranchSpec, ...]
    signing_key: Path
    out: Path
    previous: Path | None = None
    on_error: str = "fail"
    created: str | None = None  # default: when the run starts (one time for every bundle)
    staging: Path | None = None  # the plaintext sub-exports; default a private temporary folder
    range_bytes: int = RANGE_BYTES  # the split reads the export in ranges of this size, in parallel


@dataclass(frozen=True)
class BranchTask:
    """One branch's publish, as sent to a worker (paths only, no key material)."""

    branch: BranchSpec
    export: Path
    previous: Path | None
    out: Path
    signing_key: Path
    on_error: str
    created: str


@dataclass(frozen=True)
class BranchOutcome:
    """What publishing one branch gave: its bundle's figures, or why it failed."""

    branch_id: str
    kind: str = ""
    sequence: int = 0
    records: int = 0
    deletes: int = 0
    chunks: int = 0
    bytes: int = 0
    skipped: int = 0
    error: str | None = None
    cpu_s: float = field(default=0.0, compare=False)  # this process's CPU time for the branch


@dataclass
class JobResult:
    """Every branch's outcome (sorted by branch id) and the job's totals."""

    created: str
    outcomes: list[BranchOutcome] = field(default_factory=list)
    skipped_lines: list[tuple[int, str]] = field(default_factory=list)  # the split's first 1,000
    skipped: int = 0  # lines the split skipped (no readable region_code) with --on-error skip

    @property
    def records(self) -> int:
        """Records sealed by the whole job."""
        return sum(o.records for o in self.outcomes)

    @property
    def failed(self) -> list[BranchOutcome]:
        """The branches that did not publish."""
        return [o for o in self.outcomes if o.error is not None]


def _sweep(folder: Path) -> None:
    """Remove temporary files an earlier, killed attempt left (this job owns the folder)."""
    for sub in (folder, folder / "chunks", folder / "manifests"):
        for tmp in sub.glob(".tmp-*") if sub.is_dir() else ():
            tmp.unlink(missing_ok=True)


def _done_by_this_run(task: BranchTask, pointer: dict[str, Any]) -> bool:
    """Whether an earlier attempt of this run (same time, branch and export) got to latest.json."""
    if pointer["created"] != task.created or pointer["branch_id"] != task.branch.branch_id:
        return False
    sha = hashlib.sha256()
    with task.export.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return bool(pointer["export_sha256"] == sha.hexdigest())


def _already_published(task: BranchTask, pointer: dict[str, Any]) -> BranchOutcome:
    """The outcome of an earlier attempt of this same run that got as far as latest.json."""
    entry = pointer["deltas"][-1] if pointer["deltas"] else pointer["snapshot"]
    folder = task.out / task.branch.branch_id
    signing = load_signing_private(task.signing_key)
    body = open_envelope(
        (folder / entry["manifest"]).read_bytes(), signing.public_key(), "manifest"
    )
    return BranchOutcome(
        task.branch.branch_id,
        kind=str(body["kind"]),
        sequence=int(body["sequence"]),
        records=int(body["records"]),
        deletes=int(body["deletes"]),
        chunks=len(body["chunks"]),
        bytes=sum(int(c["size"]) for c in body["chunks"]),
    )


def publish_branch(task: BranchTask) -> BranchOutcome:
    """Publish one branch's bundle (runs in a Dask worker, or in-process for a serial run)."""
    branch_id = task.branch.branch_id
    folder = task.out / branch_id
    cpu = time.process_time()
    _sweep(folder)
    try:
        signing = load_signing_private(task.signing_key)
        pointer = read_pointer(folder, signing)
        if pointer is not None and _done_by_this_run(task, pointer):
            return _already_published(task, pointer)
        result = publish(
            task.export,
            load_hub_public(task.branch.hub_public_key),
            signing,
            folder,
            branch_id,
            previous=task.previous,
            key_id=task.branch.key_id,
            on_error=task.on_error,
            workers=1,  # the job's parallelism is one branch per worker process
            progress=False,
            created=task.created,
        )
    except SyncError as exc:  # the same inputs would fail again: reported, not retried
        return BranchOutcome(branch_id, error=str(exc))
    return BranchOutcome(
        branch_id,
        kind=result.kind,
        sequence=result.sequence,
        records=result.records,
        deletes=result.deletes,
        chunks=result.chunks,
        bytes=result.bytes,
        skipped=result.skipped,
        cpu_s=time.process_time() - cpu,
    )


Report = Callable[[BranchOutcome, int, int, int], None]


def report_to_stderr(outcome: BranchOutcome, done: int, total: int, records: int) -> None:
    """IT's progress line: branches done of total, records sealed so far, this branch."""
    what = (
        f"failed: {outcome.error}"
        if outcome.error
        else f"{outcome.kind} {outcome.sequence}, {outcome.records:,} records"
    )
    if outcome.skipped:
        what += f", {outcome.skipped:,} malformed lines skipped"
    print(
        f"publish-all: {done}/{total} branches, {records:,} records sealed "
        f"({outcome.branch_id}: {what})",
        file=sys.stderr,
        flush=True,
    )


def _tasks(
    job: PublishJob, staging: Path, created: str, run: Runner
) -> tuple[list[BranchTask], Split]:
    selections = [b.selection for b in job.branches]
    skip = job.on_error == "skip"
    kw: dict[str, Any] = {"range_bytes": job.range_bytes, "run": run}
    split = split_export(job.export, selections, staging / "export", skip, **kw)
    prev = None
    if job.previous:
        prev = split_export(job.previous, selections, staging / "previous", skip, **kw)
        split.skipped += [(n, f"previous export: {why}") for n, why in prev.skipped]
        split.skipped_count += prev.skipped_count
    tasks = [
        BranchTask(
            branch=b,
            export=split.files[b.selection],
            previous=prev.files[b.selection] if prev else None,
            out=job.out,
            signing_key=job.signing_key,
            on_error=job.on_error,
            created=created,
        )
        for b in job.branches
    ]
    # Largest first, so the longest branch does not start last and stretch the tail.
    tasks.sort(key=lambda t: -split.counts[t.branch.selection])
    return tasks, split


def _local_cluster(settings: JobSettings, staging: Path) -> Any:
    """A LocalCluster of worker processes, without the task profiler (it cost 15 % of the CPU)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(
            n_workers=settings.workers or os.cpu_count() or 1,
            threads_per_worker=settings.threads_per_worker,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            local_directory=str(staging / "dask"),
        )


@contextmanager
def _dask_client(settings: JobSettings, staging: Path) -> Iterator[Any]:
    """A client of the given scheduler, or of a LocalCluster started (and stopped) here."""
    from distributed import Client

    cluster = None if settings.scheduler else _local_cluster(settings, staging)
    client = Client(settings.scheduler or cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_runner(client: Any, retries: int) -> Runner:
    """Run calls as Dask tasks (with retries) and gather their results in call order."""

    def run(fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
        futures = [client.submit(fn, *args, retries=retries, pure=False) for args in calls]
        return list(client.gather(futures))

    return run


def _publish_on_dask(
    client: Any,
    tasks: list[BranchTask],
    split: Split,
    retries: int,
    step: Callable[[BranchOutcome], None],
) -> None:
    from distributed import as_completed

    futures = {
        client.submit(
            publish_branch,
            task,
            key=f"publish-{task.branch.branch_id}",
            retries=retries,
            priority=split.counts[task.branch.selection],
        ): task.branch.branch_id
        for task in tasks
    }
    for future in as_completed(futures):
        try:
            step(future.result())
        except Exception as exc:  # retries used up (KilledWorker, OSError): report, go on
            step(BranchOutcome(futures[future], error=f"{type(exc).__name__}: {exc}"))


def _staging(job: PublishJob, settings: JobSettings, serial: bool, created: str) -> Path:
    """A 0700 folder for the sub-exports (plaintext): never under OUT, which is served."""
    if job.staging is None and settings.scheduler and not serial:
        raise PublishError("a Dask scheduler needs --staging DIR on storage every worker shares")
    root = job.staging or Path(tempfile.mkdtemp(prefix="publish-all-"))
    if root.resolve().is_relative_to(job.out.resolve()):
        raise PublishError(f"--staging {root} is inside --out, which is served: choose another")
    staging = root / f"job-{created.replace(':', '')}"
    staging.mkdir(mode=0o700, parents=True)
    return staging


def run_job(
    job: PublishJob,
    settings: JobSettings | None = None,
    *,
    serial: bool = False,
    report: Report | None = report_to_stderr,
) -> JobResult:
    """Publish every branch of the job; `serial` runs them one after another in this process."""
    created = job.created or utc_now()
    result = JobResult(created)
    settings = settings or JobSettings()
    job.out.mkdir(parents=True, exist_ok=True)
    staging = _staging(job, settings, serial, created)
    try:
        with ExitStack() as stack:
            client = None if serial else stack.enter_context(_dask_client(settings, staging))
            run = run_here if client is None else _dask_runner(client, settings.retries)
            tasks, split = _tasks(job, staging, created, run)
            result.skipped_lines, result.skipped = split.skipped, split.skipped_count

            def step(outcome: BranchOutcome) -> None:
                result.outcomes.append(outcome)
                if report is not None:
                    report(outcome, len(result.outcomes), len(tasks), result.records)

            if client is None:
                for task in tasks:
                    step(publish_branch(task))
            else:
                _publish_on_dask(client, tasks, split, settings.retries, step)
    finally:
        shutil.rmtree(staging if job.staging else staging.parent, ignore_errors=True)
    result.outcomes.sort(key=lambda o: o.branch_id)
    return result
