"""The disk reserve on a real small disk: the hub's data folder on a 32 MB tmpfs, filled by a file.

Under the reserve, app reports and notes are refused with 507 and a logged-in tablet's event
stream gets a `disk_low` hub alert, while a kiosk still issues a recognised customer's ticket and
staff still claim, call and record a lead outcome. Deleting the filler clears the alert and
reports are taken again. Without permission to mount (not root), the hub test is skipped; the
reserve's logic is also tested with an injected reading.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.alerts import HubAlerts
from branch_hub.diskreserve import MB, DiskReserve, free_bytes
from branch_hub.hub import HubOptions
from tests.support.hubkit import provision, served_hub
from tests.support.lobbyenv import BuiltCache, RunningHub, add_staff, branch_config, build_cache
from tests.support.tlsenv import make_tls_env

RESERVE_MB = 8
REPORT = {"event": "installed", "version": "1.0.0", "reason": "", "detail": ""}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("disk-cache"), customers=60)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "disk"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(folder)]
    done = subprocess.run(mount, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        # A file the hub's worker threads still hold keeps the mount busy for a moment: detach
        # it lazily then, so no tmpfs outlives the test.
        if subprocess.run(["umount", str(folder)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


async def _alert(ws: aiohttp.ClientWebSocketResponse, cleared: bool) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive_json()
            if msg.get("type") == "event" and msg["kind"] == "hub_alert":
                data = dict(msg["data"])
                if data["alert"] == "disk_low" and data["cleared"] is cleared:
                    return data


def _fill(folder: Path, leave: int) -> Path:
    """A file that leaves `leave` bytes free on the folder's disk."""
    filler = folder / "filler.bin"
    size = free_bytes(folder) - leave
    with filler.open("wb") as out:
        block = b"\0" * MB
        while size > 0:
            size -= out.write(block[: min(MB, size)])
    return filler


def test_under_the_reserve_reports_and_notes_wait_while_the_branch_serves(
    small_disk: Path, cache: BuiltCache
) -> None:
    tls = make_tls_env(small_disk.parent / "pki")
    data = small_disk / "hub"
    shutil.copytree(cache.folder, data / "cache")
    customer = next(c for c in cache.customers if c["leads"] and not c["lead_declines"])
    config = branch_config()
    config = config.model_copy(
        update={"hub": config.hub.model_copy(update={"disk_reserve_mb": RESERVE_MB})}
    )
    options = HubOptions(cache_dir=data / "cache", poll_interval_s=0.02, disk_check_interval_s=0.1)

    async def scenario() -> None:
        async with served_hub(config, data, tls, options) as (hub, url):
            add_staff(hub.security)
            run = RunningHub(hub, url, tls)
            await _while_full(run, small_disk, customer)

    asyncio.run(scenario())


async def _while_full(run: RunningHub, disk: Path, customer: dict[str, Any]) -> None:
    kiosk = run.tls.client_context("K1", "kiosk")
    api = f"{run.url}/api/v1"
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{api}/events", **run.stream()) as tablet,
    ):
        assert (await tablet.receive_json())["type"] == "live"
        filler = await asyncio.to_thread(_fill, disk, RESERVE_MB * MB // 2)
        alert = await _alert(tablet, cleared=False)
        assert "MB" in alert["message"]
        assert "磁盘" in alert["message_zh"]

        async def post(path: str, body: Any, ssl: Any, headers: Any = None) -> Any:
            async with http.post(f"{api}{path}", json=body, ssl=ssl, headers=headers) as resp:
                return resp.status, await resp.json()

        status, body = await post("/apps/kiosk/reports", REPORT, kiosk)
        assert (status, body["error"]["code"]) == (507, "disk_reserve"), body
        assert body["error"]["message_zh"]
        session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
        body_in = {"service": "cash", "session_id": session.session_id}
        status, issued = await post("/kiosk/tickets", body_in, kiosk)
        assert status == 201, issued
        visit = str(run.lobby.visits.visit_of_ticket(issued["ticket"]["id"]))
        ssl, headers = run.staff("wealth")
        status, body = await post(f"/visits/{visit}/notes", {"text": "回访"}, ssl, headers)
        assert (status, body["error"]["code"]) == (507, "disk_reserve")
        status, _ = await post(f"/visits/{visit}/claim", {}, ssl, headers)
        assert status == 200
        lead = customer["leads"][0]["lead_id"]
        outcome = {"outcome": "not_suitable", "note": "下周再联系"}
        status, body = await post(f"/visits/{visit}/leads/{lead}/outcome", outcome, ssl, headers)
        assert status == 201, body
        ssl, headers = run.staff("teller")
        status, body = await post("/counters/C1/call-next", {}, ssl, headers)
        assert status == 200, body
        assert run.hub.disk.low

        await asyncio.to_thread(filler.unlink)
        await _alert(tablet, cleared=True)
        status, _ = await post("/apps/kiosk/reports", REPORT, kiosk)
        assert status == 201


def test_the_reserve_raises_once_and_clears_once_from_a_reading() -> None:
    free = [100 * MB]
    pushed: list[dict[str, Any]] = []

    async def emit(kind: str, data: dict[str, Any]) -> None:
        pushed.append(data)

    async def scenario() -> None:
        reserve = DiskReserve(Path("."), 50 * MB, HubAlerts(emit), measure=lambda _p: free[0])
        for reading in (100, 49, 30, 51, 60, 10):
            free[0] = reading * MB
            await reserve.check()
        assert reserve.low  # 51 is within the hysteresis: still low, no second alert
        off = DiskReserve(Path("."), 0, HubAlerts(emit), measure=lambda _p: 0)
        assert not await off.check()

    asyncio.run(scenario())
    assert [p["cleared"] for p in pushed] == [False, True, False]


def test_check_warns_when_the_data_disk_is_already_under_the_reserve(
    script: Callable[[str], str], sample_config_path: Path, tmp_path: Path
) -> None:
    text = sample_config_path.read_text(encoding="utf-8")
    config = tmp_path / "hub.toml"
    provision(tmp_path / "var")  # --check proves the keys too
    for reserve, warned in ((200, False), (10**9, True)):
        config.write_text(
            text.replace("[hub]\n", f"[hub]\ndisk_reserve_mb = {reserve}\n", 1), encoding="utf-8"
        )
        done = subprocess.run(
            [script("branch-hub"), "--config", str(config), "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert ("hub.disk_reserve_mb" in done.stderr) is warned, done.stderr
