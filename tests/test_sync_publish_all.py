"""HQ's publishing job: every branch from one export, on Dask or in one process, byte for byte."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import psutil  # type: ignore[import-untyped]
import pytest

from sync.cache import CustomerCache
from sync.cli import main
from sync.errors import ExportError
from sync.keys import load_hub_private, load_signing_public, write_key_pair
from sync.publish_job import BranchOutcome, PublishJob, run_job
from sync.publish_plan import BranchSpec, JobSettings, read_branches
from sync.publish_split import byte_ranges, split_export
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file

AS_OF = date(2026, 11, 1)
CREATED = "2026-12-03T02:00:00Z"
REGIONS = {
    "B01": ["11"],
    "B02": ["11"],  # the same province as B01: one sub-export, two bundles
    "B03": ["3"],
    "B04": ["44", "45"],
    "B05": ["5", "6"],
    "B06": ["110105"],
}


@dataclass
class Bank:
    root: Path
    export: Path
    branches: Path
    signing: Path
    rows: list[dict[str, Any]]

    def specs(self) -> tuple[BranchSpec, ...]:
        return tuple(read_branches(self.branches)[0])

    def job(self, out: str, **kw: Any) -> PublishJob:
        kw.setdefault("created", CREATED)
        kw.setdefault("range_bytes", 300_000)  # the split reads the ~1.6 MB export in 6 ranges
        return PublishJob(self.export, self.specs(), self.signing, self.root / out, **kw)


def _write_branches(root: Path, regions: dict[str, list[str]], job: str = "") -> Path:
    lines = [job]
    for branch_id, prefixes in regions.items():
        hub = root / "hubs" / branch_id
        hub.mkdir(parents=True, exist_ok=True)
        if not (hub / "hub_sync.pub").exists():
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


@pytest.fixture
def bank(tmp_path: Path) -> Bank:
    export = tmp_path / "bank.jsonl"
    opts = SynthOptions(customers=1500, seed=21, as_of=AS_OF, local_share=0.4)
    write_export_file(opts, export, workers=1, progress=False)
    write_key_pair("hq", tmp_path / "hq_signing.key", tmp_path / "hq_signing.pub")
    rows = [orjson.loads(line) for line in export.read_bytes().splitlines()]
    branches = _write_branches(tmp_path, REGIONS)
    return Bank(tmp_path, export, branches, tmp_path / "hq_signing.key", rows)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _selected(bank: Bank, branch_id: str) -> list[dict[str, Any]]:
    return [r for r in bank.rows if r["region_code"].startswith(tuple(REGIONS[branch_id]))]


def _changed_export(bank: Bank) -> Path:
    """The next night's export: 10 % of customers changed, a few gone."""
    path = bank.root / "bank-next.jsonl"
    out = []
    for i, row in enumerate(bank.rows):
        if i % 50 == 7:
            continue
        if i % 10 == 3:
            row = {**row, "aum": row["aum"] + 1000, "tier": row["tier"]}
        out.append(orjson.dumps(row))
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


def _pull_and_find(bank: Bank, out: Path, branch_id: str) -> CustomerCache:
    cache = bank.root / f"cache-{branch_id}"
    pull(
        (out / branch_id).as_uri(),
        cache,
        hq_public=load_signing_public(bank.root / "hq_signing.pub"),
        hub_key=load_hub_private(bank.root / "hubs" / branch_id / "hub_sync.key"),
        branch_id=branch_id,
        progress=False,
    )
    return CustomerCache(cache, bank.root / "hubs" / branch_id / "hub_sync.key")


def test_dask_and_one_process_publish_the_same_bytes(bank: Bank) -> None:
    settings = JobSettings(workers=2)
    seen: list[Path] = []

    def look_for_plaintext(outcome: BranchOutcome, done: int, total: int, records: int) -> None:
        seen.extend(p for p in (bank.root / "dask").rglob("*") if ".jsonl" in p.name)

    serial = run_job(bank.job("serial"), serial=True, report=None)
    dask = run_job(bank.job("dask"), settings, report=look_for_plaintext)
    assert seen == []  # the plaintext sub-exports never lie in the served folder
    assert serial.outcomes == dask.outcomes
    for outcome in serial.outcomes:
        assert outcome.error is None
        assert outcome.records == len(_selected(bank, outcome.branch_id)) > 0
    assert sorted(p.name for p in (bank.root / "dask").iterdir()) == sorted(REGIONS)
    assert _tree(bank.root / "serial") == _tree(bank.root / "dask")
    # The night after: deltas, again the same bytes either way, and a hub applies them.
    nxt = _changed_export(bank)
    kw: dict[str, Any] = {"previous": bank.export, "created": "2026-12-04T02:00:00Z"}
    serial = run_job(replace(bank.job("serial", **kw), export=nxt), serial=True, report=None)
    dask = run_job(replace(bank.job("dask", **kw), export=nxt), settings, report=None)
    assert {o.kind for o in dask.outcomes} == {"delta"}
    assert serial.outcomes == dask.outcomes
    assert _tree(bank.root / "serial") == _tree(bank.root / "dask")
    with _pull_and_find(bank, bank.root / "dask", "B04") as cache:
        mine, other = _selected(bank, "B04")[3], _selected(bank, "B06")[0]
        found = cache.identify("id_number", mine["id_number"])
        assert found is not None
        assert found.record["customer_id"] == mine["customer_id"]
        assert cache.identify("id_number", other["id_number"]) is None
        assert cache.sequence == 2


def _worker_processes() -> list[psutil.Process]:
    """The Dask worker processes (the LocalCluster's nannies start them from this process)."""
    children = psutil.Process(os.getpid()).children()
    return [p for p in children if "spawn_main" in " ".join(p.cmdline())]


def test_a_worker_killed_mid_job_is_retried_and_the_result_is_complete(bank: Bank) -> None:
    everything = ["1", "2", "3", "4", "5", "6"]
    regions = {f"K{n:02d}": everything for n in range(8)}
    bank.branches = _write_branches(bank.root, regions)
    killed: list[int] = []

    def kill_one(outcome: BranchOutcome, done: int, total: int, records: int) -> None:
        if killed or total - done < 3:
            return
        workers = _worker_processes()
        assert workers, "no worker process found"
        killed.append(workers[0].pid)
        os.kill(workers[0].pid, signal.SIGKILL)

    dask = run_job(bank.job("dask"), JobSettings(workers=2, retries=2), report=kill_one)
    assert killed
    assert not psutil.pid_exists(killed[0]) or psutil.Process(killed[0]).status() == "zombie"
    assert [o.error for o in dask.outcomes] == [None] * 8
    assert all(o.records == len(bank.rows) for o in dask.outcomes)
    serial = run_job(bank.job("serial"), serial=True, report=None)
    assert _tree(bank.root / "serial") == _tree(bank.root / "dask")
    assert serial.outcomes == dask.outcomes


def test_command_line_reports_progress_and_failures(
    bank: Bank, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "publish-all",
        "--export",
        str(bank.export),
        "--branches",
        str(bank.branches),
        "--signing-key",
        str(bank.signing),
        "--out",
        str(bank.root / "cli"),
        "--serial",
    ]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "publish-all: 6/6 branches" in err
    assert "6 of 6 branches published" in err
    # A branch whose folder already publishes another branch fails alone; the others go on.
    (bank.root / "cli" / "B03").rename(bank.root / "cli" / "B99")
    (bank.root / "cli" / "B01").rename(bank.root / "cli" / "B03")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "B03: failed:" in err
    assert "publishes branch 'B01'" in err
    assert "5 of 6 branches published" in err
    assert "branch-sync: error: 1 branches failed: B03" in err


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no [[branch]] tables"),
        ('[[branch]]\nid = "../x"\nhub_public_key = "k"\nregions = ["11"]', "id must be"),
        ('[[branch]]\nid = "B1"\nhub_public_key = "k"\nregions = []', "regions must be"),
        ('[[branch]]\nid = "B1"\nhub_public_key = "k"\nregions = ["1x"]', "regions must be"),
        (
            '[[branch]]\nid = "B1"\nhub_public_key = "k"\nregions = ["1"]\n' * 2,
            "listed twice",
        ),
        (
            '[job]\nworkers = 0\n[[branch]]\nid = "B1"\nhub_public_key = "k"\nregions = ["1"]',
            "workers",
        ),
        (
            '[[branch]]\nid = "B1"\nhub_public_key = "k"\nregions = ["1"]\nprovince = 1',
            "unknown keys",
        ),
    ],
)
def test_a_bad_branch_list_is_refused(tmp_path: Path, text: str, reason: str) -> None:
    from sync.errors import PublishError

    path = tmp_path / "branches.toml"
    path.write_text(text)
    with pytest.raises(PublishError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        read_branches(path)


def test_job_settings_from_the_branch_list(tmp_path: Path) -> None:
    job = '[job]\nworkers = 8\nscheduler = "tcp://10.0.0.5:8786"\nretries = 4'
    path = _write_branches(tmp_path, {"B1": ["44"]}, job)
    specs, settings = read_branches(path)
    assert settings == JobSettings(workers=8, scheduler="tcp://10.0.0.5:8786", retries=4)
    assert specs[0].hub_public_key == tmp_path / "hubs" / "B1" / "hub_sync.pub"


def test_a_line_without_a_region_stops_the_job_or_is_skipped_and_counted(bank: Bank) -> None:
    lines = bank.export.read_bytes().splitlines()
    row = orjson.loads(lines[4])
    del row["region_code"]
    lines[4] = orjson.dumps(row)
    lines[9] = b"{not json"
    lines[1199] = b"[]"  # in the fourth of the split's ranges
    bank.export.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ExportError, match="export line 5: region_code is missing"):
        run_job(bank.job("fail"), serial=True, report=None)
    assert list((bank.root / "fail").iterdir()) == []  # no bundle, no staging left
    result = run_job(bank.job("skip", on_error="skip"), serial=True, report=None)
    assert result.skipped == 3
    assert result.skipped_lines == [
        (5, "region_code is missing or not digits"),
        (10, "not valid JSON"),
        (1200, "region_code is missing or not digits"),
    ]
    assert not result.failed


def test_the_split_reads_ranges_in_parallel_into_the_same_sub_exports(bank: Bank) -> None:
    selections = [tuple(r) for r in REGIONS.values()]
    whole = split_export(
        bank.export, selections, bank.root / "one", skip=False, range_bytes=1 << 30
    )
    for size in (4096, 100_000):
        parts = split_export(
            bank.export, selections, bank.root / f"r{size}", skip=False, range_bytes=size
        )
        assert parts.lines == whole.lines == len(bank.rows)
        assert parts.counts == whole.counts
        for sel, path in whole.files.items():
            assert parts.files[sel].read_bytes() == path.read_bytes()
    b04 = whole.files[tuple(REGIONS["B04"])].read_bytes().splitlines()
    assert [orjson.loads(x) for x in b04] == _selected(bank, "B04")


def test_byte_ranges_start_at_line_starts(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"aa\nb\n\ncccc\nd")
    assert byte_ranges(path, 1) == [(0, 3), (3, 5), (5, 6), (6, 11), (11, 12)]
    assert byte_ranges(path, 4) == [(0, 5), (5, 11), (11, 12)]
    assert byte_ranges(path, 100) == [(0, 12)]
    path.write_bytes(b"")
    assert byte_ranges(path, 4) == [(0, 0)]


def test_the_plaintext_staging_stays_out_of_the_served_folder(bank: Bank) -> None:
    from sync.errors import PublishError

    inside = bank.job("pub", staging=bank.root / "pub" / "tmp")
    with pytest.raises(PublishError, match="inside --out"):
        run_job(inside, serial=True, report=None)
    with pytest.raises(PublishError, match="needs --staging"):
        run_job(bank.job("pub"), JobSettings(scheduler="tcp://127.0.0.1:9"), report=None)
    result = run_job(bank.job("pub", staging=bank.root / "stage"), serial=True, report=None)
    assert not result.failed
    assert list((bank.root / "stage").iterdir()) == []
