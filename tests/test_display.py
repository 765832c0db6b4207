"""The lobby calling display in headless Chromium, and the voice announcement it plays."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image

from branch_common.wait_words import wait_words
from branch_demo.display_relay import DisplayRelay
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.board import CallBoard
from branch_hub.context import RequestContext
from branch_hub.push import EventLog, PushEvent
from branch_hub.queue import Actor, ManualClock, QueueEngine, waiting_snapshot
from branch_hub.vocabulary import EventKind, TicketOperation
from tests.support.chromium import screenshot, shots_dir
from tests.support.devtools import LivePage
from tests.support.hub_thread import ThreadedHub
from tests.support.tlsenv import TlsEnv, make_tls_env

TELLER = RequestContext(device_id="CTR-1", device_kind="counter", staff_id="S-T", role="teller")
START = {"waiting": {"cash": 7, "account": 3, "wealth": 1, "loan": 0}, "wait_min": {}}


@dataclass
class Served:
    """The production hub on a thread, the display's own certificate, and the relay Chromium
    loads the page through (it presents that certificate to the hub)."""

    hub: ThreadedHub
    tls: TlsEnv
    display: tuple[str, str]
    relay: DisplayRelay

    @property
    def url(self) -> str:
        return self.hub.url

    def get(self, path: str) -> requests.Response:
        """GET as the lobby display device."""
        return requests.get(
            f"{self.url}{path}", verify=str(self.tls.ca_path), cert=self.display, timeout=10
        )

    def call(self, service: str, counter: str) -> PushEvent:
        """Issue a walk-in ticket and call it to a counter, as a kiosk and a teller would."""
        assert self.hub.hub is not None
        hub = self.hub.hub
        self.hub.call(hub.lobby.issue_ticket("K1", service, None))
        self.hub.call(hub.counters.call_next(TELLER, counter))
        return hub.stream.log.latest({"called"}, 1, limit=1)[0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    tls = make_tls_env(tmp_path / "pki")
    hub = ThreadedHub(tmp_path / "hub", tls).start()
    hub.emit(EventKind.WAITING_CHANGED, START)
    crt, key = (str(p) for p in tls.client("D1", "display"))
    relay = DisplayRelay(
        hub.url, tls.ca_path, Path(crt), Path(key), tls.server_cert, tls.server_key
    ).start()
    try:
        yield Served(hub, tls, (crt, key), relay)
    finally:
        relay.stop()
        hub.close()


def test_display_shows_calls_and_is_legible(served: Served, tmp_path: Path) -> None:
    called = [
        served.call(service, counter)
        for service, counter in (
            ("cash", "C1"),
            ("account", "C2"),
            ("wealth", "V1"),
            ("cash", "C3"),
        )
    ]
    board = served.get("/api/v1/board").json()
    assert [c["ticket"] for c in board["calls"]] == [e.data["ticket"] for e in reversed(called)]
    out = screenshot(served.relay.url, shots_dir(tmp_path) / "display.png")
    image = Image.open(out).convert("RGB")
    assert image.size == (1920, 1080)
    # The accent colour of the big current number must be on screen (the page rendered and ran).
    accent = sum(1 for px in image.getdata() if px[0] > 230 and 190 < px[1] < 225 and px[2] < 110)
    assert accent > 5000, "the called number is not drawn large in the accent colour"


# The footer's figures as the page shows them: {service: [count, wait text]}.
_SHOWN = """Object.fromEntries([...document.querySelectorAll('#waiting .svc')].map((item) => [
  item.dataset.service,
  [item.querySelector('b').textContent, (item.querySelector('.wait') || {}).textContent || '']]))"""


def test_display_waiting_counts_change_live(served: Served, tmp_path: Path) -> None:
    assert served.hub.hub is not None
    hub = served.hub.hub
    staff, kiosk = Actor("s-1", "tablet-1"), Actor(None, "K1")
    queue = QueueEngine(hub.config, ManualClock(datetime(2026, 3, 14, 2, 0, tzinfo=UTC)))
    with LivePage(served.relay.url) as page:
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
        while hub.stream.broadcaster.count < 1:  # the page's WebSocket is subscribed: live push
            assert time.monotonic() < deadline, "the display never opened its event stream"
            time.sleep(0.05)
        queue.open_counter("C3", staff)
        for service in ("cash", "cash", "loan", "loan", "loan", "wealth"):
            queue.issue(service, kiosk)
        queue.call_next("C3", staff)
        data = waiting_snapshot(queue)
        served.hub.emit(EventKind.WAITING_CHANGED, data)
        shown = page.wait_for(f"(() => {{ const s = {_SHOWN}; return s.loan[0] === '3' && s; }})()")
        assert {code: figures[0] for code, figures in shown.items()} == {
            "cash": "1",
            "account": "0",
            "wealth": "1",
            "loan": "3",
        }
        for code, (lo, hi) in data["wait_min"].items():
            assert shown[code][1] == wait_words(lo, hi)  # the kiosk's and the ticket's words
        out = page.screenshot(tmp_path / "display-waiting.png")
    image = Image.open(out).convert("RGB")
    assert image.size == (1920, 1080)
    assert hub.stream.board.waiting() == data


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
        rebuilt.rebuild(log, datetime.now(UTC) - timedelta(hours=1))
        assert rebuilt.waiting() == latest
        assert rebuilt.calls() == []
    finally:
        log.close()


def test_voice_is_cached_and_served(served: Served, tmp_path: Path) -> None:
    event = served.call("cash", "C3")
    voice_id = event.data["voice_id"]
    assert event.data["text_zh"] == f"请 {' '.join(_spoken(event.data['ticket']))} 号 到 三 号 窗口"
    resp = served.get(f"/display/voice/{voice_id}.wav")
    assert resp.status_code == 200
    wav = tmp_path / "call.wav"
    wav.write_bytes(resp.content)
    seconds = float(
        subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout
    )
    assert 3 < seconds < 15
    cached = served.hub.data / "voice" / f"{voice_id}.wav"
    mtime = cached.stat().st_mtime_ns
    assert served.hub.hub is not None
    ticket_id = event.data["ticket_id"]
    served.hub.call(served.hub.hub.counters.ticket_op(TELLER, ticket_id, TicketOperation.RECALL))
    assert cached.stat().st_mtime_ns == mtime  # cached, not redone


def _spoken(ticket: str) -> list[str]:
    digits = "零一二三四五六七八九"
    return [ticket[0], *(digits[int(d)] for d in ticket[1:])]


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
def test_display_routes_refuse_traversal(served: Served, path: str) -> None:
    resp = served.get(path)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
