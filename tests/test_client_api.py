"""The client's typed methods against the real hub (lobby, security, cache) over mutual TLS.

Every answer is also fetched raw and must round-trip through its model unchanged: the models
describe the JSON the hub sends today, not a guess of it.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from branch_hub.client import (
    AlreadyClaimed,
    DeviceTls,
    EventKind,
    HubClient,
    HubRefused,
    KioskSessionExpired,
    LeadOutcome,
    NotClaimHolder,
    Role,
    SessionState,
    StaffSessionEnded,
    StreamNotice,
    UnknownVisit,
)
from branch_hub.client import models as m
from branch_hub.pki import ca_fingerprint
from kiosk.flow import EndSession, FetchMenu, FetchSession, IssueTicket, Menu, Ticket
from kiosk.link import HubLink
from tablet.controller import Tablet
from tablet.device import DeviceStore
from tablet.enrolment import enrol_device
from tests.support.tablethub import PIN, TabletHub, make_hub, pitchable


@pytest.fixture(scope="module")
def branch(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TabletHub, list[dict[str, Any]]]]:
    hub, rows = make_hub(tmp_path_factory.mktemp("client-api"), customers=40)
    try:
        yield hub, rows
    finally:
        hub.stop()


def _device(hub: TabletHub, root: Path, name: str, kind: str = "tablet") -> HubClient:
    """Enrol a device the way the tablet app does, and return its client."""
    store = DeviceStore(root / name)
    enrol_device(
        store, hub.url, hub.enrolment_code(name, kind), ca_fingerprint(hub.tls.ca.cert)[:16], kind
    )
    return HubClient(hub.url, store.tls())


def _same(model_cls: type[Any], raw: Any) -> None:
    assert model_cls.from_wire(raw).to_wire() == raw


def _vip(hub: TabletHub, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A priority customer with a card whose first lead the hub lets staff pitch."""
    return next(
        r for r in rows if r["tier"] in ("wealth", "private") and r["cards"] and pitchable(hub, r)
    )


def test_kiosk_session_menu_ticket_and_its_retry(
    branch: tuple[TabletHub, list[dict[str, Any]]],
) -> None:
    hub, rows = branch
    cert, key = hub.folder_kiosk()
    kiosk = HubClient(hub.url, DeviceTls(cert, key, hub.tls.ca_path))
    _same(m.Menu, kiosk.get("/kiosk/menu"))
    menu = kiosk.menu()
    assert "wealth" in {s.code for s in menu.services}
    assert kiosk.kiosk_session().state is SessionState.IDLE
    assert hub.hub is not None
    assert hub.hub.lobby is not None
    hub.call(hub.hub.lobby.identify("K1", "pan", _vip(hub, rows)["cards"][0]["pan"]))
    _same(m.KioskSession, kiosk.get("/kiosk/session"))
    session = kiosk.kiosk_session()
    assert session.state is SessionState.RECOGNISED
    assert session.greeting is not None
    request = m.TicketRequest("wealth", session.session_id)
    first = kiosk.issue_ticket(request)
    assert not first.replayed
    again = kiosk.issue_ticket(request)  # the same action retried: the same ticket
    assert again.replayed
    assert again.ticket.number == first.ticket.number
    with pytest.raises(KioskSessionExpired):
        kiosk.issue_ticket(m.TicketRequest("wealth", session.session_id))  # a new action
    assert kiosk.end_session() == m.Ended(False)
    kiosk.close()


def test_staff_work_through_typed_methods(
    branch: tuple[TabletHub, list[dict[str, Any]]], tmp_path: Path
) -> None:
    hub, rows = branch
    lobby = _device(hub, tmp_path, "TAB-A")
    with pytest.raises(StaffSessionEnded):
        lobby.visits()
    login = lobby.login("lm1", PIN)
    assert (login.staff_id, login.role) == ("lm1", Role.LOBBY_MANAGER)
    _same(m.Health, lobby.get("/health"))
    since = lobby.health().last_seq
    events: queue.Queue[StreamNotice] = queue.Queue()
    stream = lobby.staff_events(since, events.put).start()
    try:
        ticket = hub.arrive(_vip(hub, rows)["cards"][0]["pan"])["ticket"]
        _same(m.VisitList, lobby.get("/visits?state=all"))
        visit = next(v for v in lobby.visits("waiting") if v.ticket.number == ticket["number"])
        _same(m.Brief, lobby.get(f"/visits/{visit.visit_id}/brief"))
        brief = lobby.brief(visit.visit_id)
        assert brief.leads
        arrival = _next_event(events, EventKind.ARRIVAL)
        assert arrival.data["visit_id"] == visit.visit_id
        assert lobby.claim(visit.visit_id) == m.ClaimResult(visit.visit_id, "lm1")
        note = lobby.add_note(visit.visit_id, m.NoteRequest("prefers the quiet room"))
        assert (note.note.by, note.note.text) == ("lm1", "prefers the quiet room")
        wealth = _device(hub, tmp_path, "TAB-W")
        wealth.login("w1", PIN)
        with pytest.raises(AlreadyClaimed):
            wealth.claim(visit.visit_id)
        with pytest.raises(NotClaimHolder):
            wealth.handoff(visit.visit_id, m.HandoffRequest(to_role=Role.TELLER))
        handoff = lobby.handoff(visit.visit_id, m.HandoffRequest(to_role=Role.WEALTH_MANAGER))
        assert handoff.to_role is Role.WEALTH_MANAGER
        _same(m.Dashboard, lobby.get("/queue/dashboard"))
        assert lobby.dashboard().waiting
        lead = wealth.brief(visit.visit_id).leads[0]
        next_week = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(7)).isoformat()
        outcome = m.LeadOutcomeRequest(LeadOutcome.FOLLOW_UP, "next week", follow_up_on=next_week)
        result = wealth.lead_outcome(visit.visit_id, lead.lead_id, outcome)
        assert (result.outcome, result.by) == (LeadOutcome.FOLLOW_UP, "w1")
        assert wealth.brief(visit.visit_id).leads[0].outcome is LeadOutcome.FOLLOW_UP
        with pytest.raises(UnknownVisit):
            wealth.brief("0" * 16)
        wealth.logout()
        wealth.close()
    finally:
        stream.stop()
        lobby.logout()
        lobby.close()


def test_counter_calls_and_moves_tickets(
    branch: tuple[TabletHub, list[dict[str, Any]]], tmp_path: Path
) -> None:
    hub, _rows = branch
    counter = _device(hub, tmp_path, "CTR-A", "counter")
    counter.login("t1", PIN)
    for _ in range(3):
        hub.arrive(None, service="cash")
    called = counter.call_next("C1")
    assert called.ticket is not None
    assert called.ticket.state == "called"
    ticket_id = called.ticket.id
    assert counter.recall(ticket_id).ticket is not None
    finished = counter.finish(ticket_id)
    assert finished.ticket is not None
    assert finished.ticket.state == "finished"
    second = counter.call_next("C1").ticket
    assert second is not None
    moved = counter.transfer(second.id, m.TransferRequest(service="wealth"))
    assert moved.ticket is not None
    assert moved.ticket.service == "wealth"
    third = counter.call_next("C1").ticket
    assert third is not None
    assert counter.no_show(third.id).ticket is not None
    with pytest.raises(HubRefused) as refused:
        counter.finish(third.id)
    assert refused.value.code == "invalid_transition"
    counter.logout()
    counter.close()


def _next_event(events: queue.Queue[StreamNotice], kind: EventKind) -> m.PushEvent:
    deadline = time.monotonic() + 15
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {kind} event"
        notice = events.get(timeout=remaining)
        if notice.kind == "message" and notice.data.get("type") == "event":
            event = m.PushEvent.from_wire(notice.data)
            assert event.to_wire() == notice.data
            if event.kind is kind:
                return event


def _pump_until(tablet: Tablet, predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within 15 s"
        tablet.pump()
        time.sleep(0.02)


def test_tablet_controller_without_a_window(
    branch: tuple[TabletHub, list[dict[str, Any]]], tmp_path: Path
) -> None:
    hub, _rows = branch
    store = DeviceStore(tmp_path / "TAB-C")
    enrol_device(store, hub.url, hub.enrolment_code("TAB-C"), ca_fingerprint(hub.tls.ca.cert))
    tablet = Tablet(store)
    try:
        tablet.login("lm1", PIN)
        _pump_until(tablet, lambda: tablet.state.connected, "login and live stream")
        assert tablet.screen == "lobby"
        number = hub.arrive(None, service="cash")["ticket"]["number"]
        _pump_until(
            tablet,
            lambda: any(v.ticket == number for v in tablet.state.board.visits.values()),
            "arrival on the board",
        )
        visit = next(v for v in tablet.state.board.visits.values() if v.ticket == number)
        tablet.open_brief(visit.visit_id)
        _pump_until(tablet, lambda: tablet.state.brief is not None, "brief")
        tablet.claim(visit.visit_id)
        _pump_until(tablet, lambda: visit.claimed_by == "lm1", "claimed event")
        tablet.add_note(visit.visit_id, "   ")
        _pump_until(tablet, lambda: not tablet.busy, "note refused")
        assert "text" in tablet.message
        tablet.add_note(visit.visit_id, "asks about a deposit")
        _pump_until(
            tablet,
            lambda: (
                tablet.state.brief is not None
                and any(n.text == "asks about a deposit" for n in tablet.state.brief.notes)
            ),
            "note in the refreshed brief",
        )
    finally:
        tablet.close()


def test_kiosk_link_runs_effects_through_the_client(
    branch: tuple[TabletHub, list[dict[str, Any]]],
) -> None:
    hub, _rows = branch
    cert, key = hub.folder_kiosk()
    link = HubLink(HubClient(hub.url, DeviceTls(cert, key, hub.tls.ca_path))).start()
    got: dict[str, Any] = {}

    def wait_for(kind: str) -> Any:
        deadline = time.monotonic() + 15
        while kind not in got:
            assert time.monotonic() < deadline, f"no {kind} in the kiosk's inbox"
            with contextlib.suppress(queue.Empty):
                item_kind, payload = link.inbox.get(timeout=0.5)
                got[item_kind] = payload
        return got.pop(kind)

    try:
        wait_for("connected")
        link.submit(FetchMenu())
        assert isinstance(wait_for("menu"), Menu)
        link.submit(FetchSession())
        assert wait_for("session").state is SessionState.IDLE
        effect = IssueTicket("cash", None)
        link.submit(effect)
        first = wait_for("ticket")
        assert isinstance(first, Ticket)
        link.submit(effect)  # the same effect again: a retry of one customer's choice
        assert wait_for("ticket").number == first.number
        link.submit(IssueTicket("no-such-service", None))
        assert wait_for("ticket_failed") == ("unknown_service", False)
        link.submit(EndSession())
    finally:
        link.stop()
