"""The lobby calling display in headless Chromium, and the voice announcement it plays."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from aiohttp import web
from branch_hub.calling import announce_call
from branch_hub.server import HubApp, create_app
from PIL import Image

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.board import CallBoard
from branch_hub.config import BranchConfig, load_config
from branch_hub.context import server_ssl_context
from branch_hub.push import EventLog
from branch_hub.queue import Actor, ManualClock, QueueEngine, waiting_snapshot
from branch_hub.vocabulary import EventKind
from branch_hub.voice import VoiceCache
from tests.support.chromium import screenshot
from tests.support.devtools import LivePage
from tests.support.tlsenv import TlsEnv, make_tls_env

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


class HubThread:
    """A hub app served on its own event loop in a background thread."""

    def __init__(self, hub: HubApp, tls: TlsEnv) -> None:
        self.hub = hub
        self.loop = asyncio.new_event_loop()
        self.url = ""
        ready = threading.Event()

        async def start() -> None:
            runner = web.AppRunner(create_app(hub))
            await runner.setup()
            ctx = server_ssl_context(
                str(tls.server_cert), str(tls.server_key), str(tls.ca_path), False
            )
            site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
            await site.start()
            self.runner = runner
            self.url = f"https://127.0.0.1:{runner.addresses[0][1]}"
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop)
        assert ready.wait(10)

    def run(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.hub.log.close()


@pytest.fixture
def served(
    tmp_path: Path, sample_config_path: Path
) -> Iterator[tuple[HubThread, BranchConfig, TlsEnv]]:
    tls = make_tls_env(tmp_path / "pki")
    config = load_config(sample_config_path)
    hub = HubApp(
        log=EventLog(tmp_path / "hub.db", AtRestCipher(load_or_create_key(tmp_path / "k"))),
        config=config,
        voice=VoiceCache(tmp_path / "voice"),
        waiting_counts=lambda: {"cash": 7, "account": 3, "wealth": 1, "loan": 0},
    )
    server = HubThread(hub, tls)
    yield server, config, tls
    server.stop()


def test_display_shows_calls_and_is_legible(served: tuple[HubThread, BranchConfig, TlsEnv]) -> None:
    server, config, tls = served
    counters = {c.id: c for c in config.counters}
    for ticket, counter in (("A007", "C1"), ("B003", "C2"), ("C001", "V1"), ("A012", "C3")):
        server.run(
            announce_call(server.hub, ticket=ticket, service="cash", counter=counters[counter])
        )
    board = requests.get(f"{server.url}/api/v1/board", verify=str(tls.ca_path), timeout=10).json()
    assert [c["ticket"] for c in board["calls"]] == ["A012", "C001", "B003", "A007"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out = screenshot(f"{server.url}/display", SCREENSHOTS / "display.png")
    image = Image.open(out).convert("RGB")
    assert image.size == (1920, 1080)
    # The accent colour of the big current number must be on screen (the page rendered and ran).
    accent = sum(1 for px in image.getdata() if px[0] > 230 and 190 < px[1] < 225 and px[2] < 110)
    assert accent > 5000, "the called number is not drawn large in the accent colour"


# The footer's figures as the page shows them: {service: [count, wait text]}.
_SHOWN = """Object.fromEntries([...document.querySelectorAll('#waiting .svc')].map((item) => [
  item.dataset.service,
  [item.querySelector('b').textContent, (item.querySelector('.wait') || {}).textContent || '']]))"""


def test_display_waiting_counts_change_live(
    served: tuple[HubThread, BranchConfig, TlsEnv], tmp_path: Path
) -> None:
    server, config, _tls = served
    staff, kiosk = Actor("s-1", "tablet-1"), Actor(None, "K1")
    queue = QueueEngine(config, ManualClock(datetime(2026, 3, 14, 2, 0, tzinfo=UTC)))
    with LivePage(f"{server.url}/display") as page:
        shown = page.wait_for(
            f"document.querySelectorAll('#waiting .svc').length === 4 && {_SHOWN}"
        )
        assert shown == {
            "cash": ["7", ""],
            "account": ["3", ""],
            "wealth": ["1", ""],
            "loan": ["0", ""],
        }
        deadline = time.monotonic() + 15
        while server.hub.broadcaster.count < 1:  # the page's WebSocket is subscribed: live push
            assert time.monotonic() < deadline, "the display never opened its event stream"
            time.sleep(0.05)
        queue.open_counter("C3", staff)
        for service in ("cash", "cash", "loan", "loan", "loan", "wealth"):
            queue.issue(service, kiosk)
        queue.call_next("C3", staff)
        data = waiting_snapshot(queue)
        server.run(server.hub.emit(EventKind.WAITING_CHANGED, data))
        shown = page.wait_for(f"(() => {{ const s = {_SHOWN}; return s.loan[0] === '3' && s; }})()")
        assert {code: figures[0] for code, figures in shown.items()} == {
            "cash": "1",
            "account": "0",
            "wealth": "1",
            "loan": "3",
        }
        for code, (lo, hi) in data["wait_min"].items():
            assert shown[code][1] == (f"约 {lo} 分钟" if lo == hi else f"约 {lo}–{hi} 分钟")
        out = page.screenshot(tmp_path / "display-waiting.png")
    image = Image.open(out).convert("RGB")
    assert image.size == (1920, 1080)
    assert server.hub.board.waiting() == data


def test_board_keeps_the_last_waiting_figures_across_a_rebuild(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(load_or_create_key(tmp_path / "k")))
    try:
        board = CallBoard()
        assert board.waiting() is None
        first = {"waiting": {"cash": 2}, "wait_min": {"cash": [3, 5]}}
        latest = {"waiting": {"cash": 1}, "wait_min": {"cash": [1, 2]}}
        for data in (first, latest):
            assert board.apply(log.append(EventKind.WAITING_CHANGED, data))
        assert not board.apply(log.append("arrival", {"visit_id": "v1"}))
        assert board.waiting() == latest
        rebuilt = CallBoard()
        rebuilt.rebuild(log)
        assert rebuilt.waiting() == latest
        assert rebuilt.calls() == []
    finally:
        log.close()


def test_voice_is_cached_and_served(
    served: tuple[HubThread, BranchConfig, TlsEnv], tmp_path: Path
) -> None:
    server, config, tls = served
    counter = config.counters[2]
    event = server.run(announce_call(server.hub, ticket="A012", service="cash", counter=counter))
    voice_id = event.data["voice_id"]  # type: ignore[attr-defined]
    assert event.data["text_zh"] == "请 A 零 一 二 号 到 三 号 窗口"  # type: ignore[attr-defined]
    resp = requests.get(
        f"{server.url}/display/voice/{voice_id}.wav", verify=str(tls.ca_path), timeout=10
    )
    assert resp.status_code == 200
    wav = tmp_path / "call.wav"
    wav.write_bytes(resp.content)
    seconds = float(
        subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout
    )
    assert 3 < seconds < 15
    mtime = (tmp_path / "voice" / f"{voice_id}.wav").stat().st_mtime_ns
    server.run(
        announce_call(server.hub, ticket="A012", service="cash", counter=counter, recalled=True)
    )
    assert (
        tmp_path / "voice" / f"{voice_id}.wav"
    ).stat().st_mtime_ns == mtime  # cached, not redone


@pytest.mark.parametrize(
    "path",
    [
        "/display/..%2F..%2Fpush.py",
        "/display/voice/..%2F..%2Fk.wav",
        "/display/voice/abc.wav",
        "/display/%2e%2e/server.py",
        "/display/app.js%00",
    ],
)
def test_display_routes_refuse_traversal(
    served: tuple[HubThread, BranchConfig, TlsEnv], path: str
) -> None:
    server, _config, tls = served
    resp = requests.get(f"{server.url}{path}", verify=str(tls.ca_path), timeout=10)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
