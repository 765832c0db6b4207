"""The tablet's window-free parts: live board, alerts, idle logout, device files, enrolment codes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branch_hub.client import HubRefused, HubUnavailable
from branch_hub.client.models import ClaimResult, CommandRequest, NoteRequest
from branch_hub.pki import ca_fingerprint, make_ca
from tablet.controller import Tablet
from tablet.device import (
    DeviceStore,
    EnrolmentError,
    fingerprint_matches,
    parse_enrolment_code,
)
from tablet.state import LiveBoard, StaffSession, TabletState, screen_for


def arrival(seq: int, visit: str, number: str, priority: bool = False) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": "arrival",
        "at": "2026-11-22T09:00:00+00:00",
        "data": {
            "visit_id": visit,
            "ticket": {
                "number": number,
                "id": f"20261122-{number}",
                "issued_at": "2026-11-22T09:00:00+00:00",
            },
            "tier": "wealth" if priority else None,
            "priority": priority,
            "salutation_zh": "王先生" if priority else None,
            "walk_in": not priority,
        },
    }


def test_each_seq_applies_once_and_replays_are_ignored() -> None:
    board = LiveBoard()
    events = [arrival(1, "v1", "A001"), arrival(2, "v2", "C001", True)]
    events.append({"seq": 3, "kind": "claimed", "data": {"visit_id": "v2", "by": "lm1"}})
    for event in events + events:  # a resume that replays everything
        board.apply(event)
    assert list(board.visits) == ["v1", "v2"]
    assert board.visits["v2"].claimed_by == "lm1"
    assert board.duplicates == 3
    assert [v.visit_id for v in board.waiting()] == ["v2", "v1"]  # priority first


def test_snapshot_then_replayed_events_keep_later_state() -> None:
    board = LiveBoard()
    row = arrival(0, "v1", "A001")["data"] | {"claimed_by": "lm1"}
    board.load([row], last_seq=5)
    board.apply(arrival(4, "v1", "A001"))  # older than the snapshot: ignored
    board.apply(arrival(6, "v1", "A001"))  # same visit again: the snapshot's claim stays
    assert board.visits["v1"].claimed_by == "lm1"
    board.apply({"seq": 7, "kind": "finished", "data": {"visit_id": "v1"}})
    assert board.waiting() == []


def test_board_is_bounded() -> None:
    board = LiveBoard(max_visits=50)
    for i in range(1, 400):
        board.apply(arrival(i, f"v{i}", f"A{i:03d}"))
        if i % 2:
            board.apply({"seq": 10_000 + i, "kind": "finished", "data": {"visit_id": f"v{i}"}})
    assert len(board.visits) <= 50


@given(
    st.lists(
        st.dictionaries(st.text(max_size=8), st.none() | st.integers() | st.text(max_size=8)),
        max_size=20,
    )
)
def test_board_never_fails_on_odd_events(events: list[dict[str, Any]]) -> None:
    state = TabletState()
    for event in events:
        state.on_event(event)


def test_alerts_notifications_and_clear() -> None:
    state = TabletState(session=StaffSession("lm1", "lobby_manager", "LM", "tok"))
    state.on_event(arrival(1, "v1", "C001", priority=True))
    alert = {"station": "K1", "device": "printer", "condition": "paper_low", "cleared": False}
    state.on_event({"seq": 2, "kind": "device_alert", "data": alert})
    state.on_event({"seq": 3, "kind": "cache_stale", "data": {}})
    assert "C001" in state.notifications[-1].text
    assert len(state.alerts) == 2
    state.on_event({"seq": 4, "kind": "device_alert", "data": alert | {"cleared": True}})
    assert list(state.alerts) == ["hub:cache_stale"]
    state.clear()
    assert state.session is None
    assert not state.board.visits
    assert not state.alerts
    assert not state.notifications


def test_roles_choose_screens() -> None:
    assert screen_for("lobby_manager") == "lobby"
    assert screen_for("wealth_manager") == screen_for("account_manager") == "advisor"
    assert screen_for("teller") == "counter"
    assert screen_for("nobody") == "login"


def test_idle_timeout_logs_out_and_forgets(tmp_path: Path) -> None:
    now = [0.0]
    tablet = Tablet(DeviceStore(tmp_path), idle_timeout_s=60, clock=lambda: now[0])
    tablet.state.session = StaffSession("lm1", "lobby_manager", "LM", "tok")
    tablet.state.on_event(arrival(1, "v1", "C001", priority=True))
    now[0] = 30
    assert not tablet.check_idle()
    now[0] = 61
    assert tablet.check_idle()
    assert tablet.state.session is None
    assert not tablet.state.board.visits
    assert tablet.screen == "setup"  # not enrolled in this folder


def test_device_store_keeps_only_settings_and_identity(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "app")
    store.save_settings(hub_url="https://127.0.0.1:8443", counter="C1")
    with pytest.raises(ValueError, match="not a tablet setting"):
        store.save_settings(customer="张三")
    ca = make_ca("B1")
    with pytest.raises(EnrolmentError, match="does not match"):
        store.pin_ca(ca.cert_pem(), "ab" * 8)
    store.pin_ca(ca.cert_pem(), ca_fingerprint(ca.cert)[:20].upper())
    assert store.settings()["ca_fingerprint"] == ca_fingerprint(ca.cert)
    store.key_path.write_bytes(b"key")
    store.cert_path.write_bytes(b"cert")
    assert store.enrolled
    store.forget_identity()
    assert not store.enrolled
    assert store.ca_path.exists()


def test_fingerprint_needs_enough_digits() -> None:
    ca = make_ca("B1")
    with pytest.raises(EnrolmentError, match="at least 16"):
        fingerprint_matches(ca.cert_pem(), ca_fingerprint(ca.cert)[:8])
    spaced = ":".join(ca_fingerprint(ca.cert)[i : i + 2] for i in range(0, 32, 2))
    assert fingerprint_matches(ca.cert_pem(), spaced)


def test_enrolment_codes_typed_and_from_a_qr() -> None:
    assert parse_enrolment_code(" abcd-efgh-jklm-npqr ").code == "ABCD-EFGH-JKLM-NPQR"
    qr = parse_enrolment_code(
        "branchedge:enrol?code=ABCD-EFGH&hub=https://10.0.0.2:8443&ca=" + "0a" * 16
    )
    assert (qr.code, qr.hub_url, qr.ca_fingerprint) == (
        "ABCD-EFGH",
        "https://10.0.0.2:8443",
        "0a" * 16,
    )
    for bad in ("", "a b", "branchedge:enrol?code=X", "branchedge:enrol?code=ABCD&hub=http://x"):
        with pytest.raises(EnrolmentError):
            parse_enrolment_code(bad)


@given(st.text(max_size=200))
def test_enrolment_code_parser_raises_only_its_own_error(text: str) -> None:
    with contextlib.suppress(EnrolmentError):
        parse_enrolment_code(text)
    with contextlib.suppress(EnrolmentError):
        parse_enrolment_code("branchedge:enrol?" + text)


def test_self_check_used_by_the_updater_health_check(tmp_path: Path) -> None:
    env = dict(os.environ, KIVY_HOME=str(tmp_path), KIVY_NO_ARGS="1")
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "tablet.cli", "--self-check"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


class _FlakyHub:
    """Stands in for AsyncHubClient: the first attempt of each command is lost on the way."""

    token: str | None = None

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def _attempt(self, what: str, request: CommandRequest | NoteRequest) -> None:
        self.seen.append((what, request.request_id))
        if len([s for s in self.seen if s[0] == what]) == 1:
            raise HubUnavailable("connection reset")

    async def claim(self, visit_id: str, request: CommandRequest) -> ClaimResult:
        self._attempt("claim", request)
        return ClaimResult(visit_id, "lm1")

    async def add_note(self, visit_id: str, request: NoteRequest) -> Any:
        self._attempt("note", request)
        raise HubRefused(409, "already_claimed", "someone else")

    async def brief(self, visit_id: str) -> Any:
        raise HubUnavailable("not needed here")

    async def close(self) -> None:
        return None


def test_a_retried_action_sends_the_same_request_id(tmp_path: Path) -> None:
    tablet = Tablet(DeviceStore(tmp_path))
    hub = _FlakyHub()
    tablet.aclient = hub  # type: ignore[assignment]
    tablet.state.session = StaffSession("lm1", "lobby_manager", "LM", "tok")
    tablet.state.connected = True  # no probing in this test
    tablet.claim("0123456789abcdef")
    tablet.claim("0123456789abcdef")  # a second tap is a second action
    tablet.add_note("0123456789abcdef", "hello")
    deadline = time.monotonic() + 10
    while (tablet.busy or len(hub.seen) < 5) and time.monotonic() < deadline:
        tablet.pump()
        time.sleep(0.01)
    claims = [rid for what, rid in hub.seen if what == "claim"]
    notes = [rid for what, rid in hub.seen if what == "note"]
    assert len(claims) == 3  # lost, retried, then the second tap
    assert claims[0] == claims[1] != claims[2]
    assert notes[0] == notes[1]
    assert tablet.message == "someone else"
    tablet.state.session = None
    tablet.close()


def test_a_hub_alert_shows_in_chinese_until_it_clears() -> None:
    state = TabletState()
    alert = {
        "alert": "disk_low",
        "key": "disk_low",
        "message": "The hub's disk is nearly full.",
        "message_zh": "中心设备磁盘空间不足。",
        "cleared": False,
    }
    state.on_event({"seq": 1, "kind": "hub_alert", "data": alert})
    assert [a.text for a in state.alerts.values()] == ["中心设备磁盘空间不足。"]
    state.on_event({"seq": 2, "kind": "hub_alert", "data": alert | {"cleared": True}})
    assert not state.alerts
