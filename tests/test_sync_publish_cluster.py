"""HQ's publishing job on a Dask cluster it did not start: a scheduler and workers as their own
processes (as on other hosts, here on loopback), reached through `--scheduler`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import orjson
import pytest

from sync.cli import main
from sync.errors import PublishError
from sync.keys import write_key_pair
from sync.publish_job import PublishJob, run_job
from sync.publish_plan import JobSettings, read_branches
from sync.synth import SynthOptions, write_export_file

ROOT = Path(__file__).resolve().parent.parent
REGIONS = {"B01": ["11"], "B02": ["11"], "B03": ["3"], "B04": ["44", "45"]}


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    """A Dask scheduler and one worker host with two worker processes, all on loopback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    info = tmp_path / "scheduler.json"
    common = ["--no-dashboard", "--host", "127.0.0.1"]
    procs = [
        _start(
            ["scheduler", *common, "--port", "0", "--scheduler-file", str(info)],
            tmp_path / "scheduler.log",
            env,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.1)
        address = orjson.loads(info.read_bytes())["address"]
        worker = ["worker", *common, "--scheduler-file", str(info), "--nworkers", "2"]
        worker += ["--nthreads", "1", "--local-directory", str(tmp_path / "worker")]
        procs.append(_start(worker, tmp_path / "worker.log", env))
        _wait_for_workers(address, 2)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(count, timeout=60)


def _branches(root: Path) -> Path:
    lines = []
    for branch_id, prefixes in REGIONS.items():
        hub = root / "hubs" / branch_id
        hub.mkdir(parents=True)
        write_key_pair("hub", hub / "hub_sync.key", hub / "hub_sync.pub")
        lines += [
            "[[branch]]",
            f'id = "{branch_id}"',
            f'hub_public_key = "hubs/{branch_id}/hub_sync.pub"',
            f"regions = {orjson.dumps(prefixes).decode()}",
        ]
    path = root / "branches.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_running_scheduler_publishes_the_same_bytes_as_one_process(
    tmp_path: Path, scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "bank.jsonl"
    opts = SynthOptions(customers=800, seed=5, as_of=date(2026, 11, 1), local_share=0.4)
    write_export_file(opts, export, workers=1, progress=False)
    write_key_pair("hq", tmp_path / "hq_signing.key", tmp_path / "hq_signing.pub")
    specs, _ = read_branches(_branches(tmp_path))

    def job(out: str, staging: Path | None = None) -> PublishJob:
        signing = tmp_path / "hq_signing.key"
        return PublishJob(export, tuple(specs), signing, tmp_path / out, staging=staging)

    created = "2026-12-03T02:00:00Z"
    serial = run_job(replace(job("serial"), created=created), serial=True, report=None)
    on_cluster = JobSettings(scheduler=scheduler)
    # The cluster's workers share no temporary folder with this process: without a staging
    # folder they can all read, the job refuses before reading anything.
    with pytest.raises(PublishError, match="--staging"):
        run_job(job("cluster"), on_cluster, report=None)
    shared = tmp_path / "shared"
    cluster = run_job(replace(job("cluster", shared), created=created), on_cluster, report=None)
    assert [o.error for o in cluster.outcomes] == [None] * len(REGIONS)
    assert cluster.outcomes == serial.outcomes
    assert _tree(tmp_path / "serial") == _tree(tmp_path / "cluster")
    assert list(shared.iterdir()) == []  # the plaintext sub-exports are gone
    # The command line reaches the same cluster and says where it runs.
    args = ["publish-all", "--export", str(export), "--branches", str(tmp_path / "branches.toml")]
    args += ["--signing-key", str(tmp_path / "hq_signing.key"), "--out", str(tmp_path / "cli")]
    assert main([*args, "--scheduler", scheduler, "--staging", str(shared)]) == 0
    err = capsys.readouterr().err
    assert f"branches on {scheduler}" in err
    assert f"{len(REGIONS)} of {len(REGIONS)} branches published" in err
