"""The hub pulls HQ's bundles on its schedule over real HTTPS and reports the cache on /health."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from branch_hub.cache_sync import CacheSync, SyncSettings
from branch_hub.config import ConfigError, load_config
from sync.keys import write_key_pair
from sync.publisher import publish
from sync.static_server import StaticServer, make_test_pki
from sync.synth import SynthOptions, write_export_file
from tests.support.devices import enrolled_device
from tests.support.hubkit import provision

BRANCH = "BJ-CY-0105"


class Hq:
    """HQ's keys and a publication folder served over HTTPS on loopback."""

    def __init__(self, root: Path, server: StaticServer, ca: Path) -> None:
        self.root, self.server, self.ca = root, server, ca
        (root / "hq").mkdir()
        (root / "hub" / "var" / "cache").mkdir(parents=True)
        self.signing = root / "hq" / "hq_signing.key"
        self.signing_pub = root / "hq" / "hq_signing.pub"
        write_key_pair("hq", self.signing, self.signing_pub)
        self.hub_key = root / "hub" / "var" / "cache" / "hub_sync.key"
        self.hub_pub = root / "hub" / "var" / "cache" / "hub_sync.pub"
        write_key_pair("hub", self.hub_key, self.hub_pub)
        self.url = server.url + f"branches/{BRANCH}/"

    def publish(self, customers: int, seed: int = 5, branch: str = BRANCH) -> None:
        """Publish a snapshot of synthetic customers for the branch."""
        export = self.root / f"export-{seed}.jsonl"
        opts = SynthOptions(customers=customers, seed=seed, as_of=date(2026, 11, 1))
        write_export_file(opts, export, workers=1, progress=False)
        from sync.keys import load_hub_public, load_signing_private

        publish(
            export,
            load_hub_public(self.hub_pub),
            load_signing_private(self.signing),
            self.root / "www" / "branches" / BRANCH,
            branch,
            workers=1,
            records_per_chunk=100,
            progress=False,
        )


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    ca, cert, key = make_test_pki(tmp_path / "hq-pki")
    (tmp_path / "www").mkdir()
    with StaticServer(tmp_path / "www", cert, key) as server:
        yield Hq(tmp_path, server, ca)


def settings(hq: Hq, **over: Any) -> SyncSettings:
    values: dict[str, Any] = {
        "url": hq.url,
        "cache_dir": hq.root / "hub" / "var" / "cache",
        "hub_key": hq.hub_key,
        "hq_public": hq.signing_pub,
        "ca_file": hq.ca,
        "branch_id": BRANCH,
        "interval_s": 60.0,
        "stale_after_s": 3600.0,
        "retries": 1,
        "backoff_s": 0.05,
    }
    values.update(over)
    return SyncSettings(**values)


def test_pull_opens_the_cache_and_reports_sequence_and_age(hq: Hq) -> None:
    hq.publish(50)
    events: list[tuple[str, dict[str, Any]]] = []

    async def emit(kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))

    sync = CacheSync(settings(hq), emit)
    assert sync.status()["sequence"] == 0
    assert sync.status()["stale"] is True
    assert asyncio.run(sync.pull_now()) is True
    status = sync.status()
    assert status["sequence"] == 1
    assert status["age_s"] is not None
    assert status["age_s"] < 60
    assert status["stale"] is False
    assert status["last_error"] is None
    assert sync.cache is not None
    assert sync.cache.sequence == 1
    assert events == []  # fresh from the first report on: nothing to alert
    sync.close()


def test_failed_pull_keeps_the_last_version_and_alerts_once(hq: Hq) -> None:
    hq.publish(30)
    events: list[tuple[str, dict[str, Any]]] = []

    async def emit(kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))

    async def scenario() -> None:
        good = CacheSync(settings(hq), emit)
        assert await good.pull_now()
        good.close()
        # the same cache, but HQ's server now answers 503 to everything and the cache is "old"
        bad = CacheSync(settings(hq, stale_after_s=0.001), emit)
        hq.server.faults.status["latest.json"] = (503, 100)
        await asyncio.sleep(0.01)
        assert not await bad.pull_now()
        assert not await bad.pull_now()
        status = bad.status()
        assert status["sequence"] == 1  # last good version stays
        assert "503" in str(status["last_error"])
        assert bad.open_cache() is not None
        bad.close()

    asyncio.run(scenario())
    assert [kind for kind, _ in events] == ["cache_stale"]  # once, not per failed pull
    assert events[0][1]["stale"] is True
    assert events[0][1]["sequence"] == 1


def test_bundle_for_another_branch_is_refused_with_its_reason(hq: Hq) -> None:
    hq.publish(20, branch="SH-PD-0001")
    sync = CacheSync(settings(hq))
    assert asyncio.run(sync.pull_now()) is False
    assert "SH-PD-0001" in str(sync.last_error)
    assert sync.status()["sequence"] == 0


def test_bundle_url_without_signing_key_is_a_config_error(
    tmp_path: Path, sample_config_path: Path
) -> None:
    text = sample_config_path.read_text(encoding="utf-8").replace(
        'bundle_url = ""', 'bundle_url = "https://hq.example/branches/BJ-CY-0105/"'
    )
    (tmp_path / "hub.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"hq\.signing_public_key"):
        load_config(tmp_path / "hub.toml")


def test_running_hub_pulls_at_start_and_shows_the_cache_on_health(
    hq: Hq, script: Callable[[str], str], sample_config_path: Path
) -> None:
    hq.publish(40)
    text = sample_config_path.read_text(encoding="utf-8")
    text = text.replace('bundle_url = ""', f'bundle_url = "{hq.url}"')
    text = text.replace(
        "[hq]\n",
        f'[hq]\nsigning_public_key = "{hq.signing_pub}"\nca_file = "{hq.ca}"\n',
    )
    config = hq.root / "hub" / "hub.toml"
    config.write_text(text, encoding="utf-8")
    provision(hq.root / "hub" / "var")
    proc = subprocess.Popen(
        [script("branch-hub"), "--config", str(config), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        ca = hq.root / "hub" / "var" / "pki" / "ca.crt"
        cert = enrolled_device(hq.root / "hub" / "var", "TAB1")
        deadline = time.monotonic() + 60
        cache: dict[str, Any] = {}
        while time.monotonic() < deadline:
            cache = requests.get(
                f"{url}/api/v1/health", verify=str(ca), cert=cert, timeout=10
            ).json()["cache"]
            if cache["sequence"] == 1:
                break
            time.sleep(0.2)
        assert cache["sequence"] == 1, cache
        assert cache["scheduled"] is True
        assert cache["stale"] is False
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_pull_that_applies_hands_freed_memory_back(hq: Hq) -> None:
    hq.publish(40)
    trims: list[int] = []
    sync = CacheSync(settings(hq), trim=lambda: trims.append(1))
    assert asyncio.run(sync.pull_now()) is True
    assert trims == [1]  # after the snapshot's apply, in the pull's thread
    assert asyncio.run(sync.pull_now()) is True
    assert trims == [1]  # up to date: nothing was applied, nothing to hand back
    hq.server.faults.status["latest.json"] = (503, 100)
    assert asyncio.run(sync.pull_now()) is False
    assert trims == [1, 1]  # a failed pull may have freed as much
    sync.close()
