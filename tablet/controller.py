"""The tablet's logic between the views and the hub: no window, hub calls on an asyncio loop.

Views call the verbs (`login`, `claim`, `call_next`, ...); results and stream events land in
`inbox`, and the UI thread applies them with `pump()` so `state` is only touched from one thread.
Hub calls and the event stream run on the app's loop (tablet/worker.py); a job may be an async
function using `AsyncHubClient`, or a plain callable using the sync `HubClient` (run in the loop's
executor), so `self._command(tag, build, send)` with a sync call keeps working.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from branch_hub.client import (
    AsyncHubClient,
    Backoff,
    EventKind,
    EventStream,
    HubClient,
    HubUnavailable,
    Role,
    StreamNotice,
    TicketOperation,
    WireError,
)
from branch_hub.client.models import (
    CommandRequest,
    LoginResult,
    NoteRequest,
    TransferRequest,
    VisitRow,
)
from tablet.booking import Bookings
from tablet.catalogue_keeper import CatalogueKeeper
from tablet.catalogue_source import CatalogueSource
from tablet.device import DeviceStore
from tablet.discovery import HubFollower
from tablet.handoff_verbs import HandoffVerbs
from tablet.hub_calls import HubCalls
from tablet.i18n import N_, said
from tablet.leads import outcome_request
from tablet.renewal import RenewalCheck
from tablet.report_share import forget_report_files
from tablet.results import apply_failure, apply_result
from tablet.showcase import Showcase
from tablet.state import TabletState
from tablet.timeline import follow_timeline
from tablet.worker import HubWorker, once_more, once_more_async

# Events that change what an open brief shows (notes, claim, hand-offs, outcomes, identified).
_BRIEF_KINDS = frozenset(
    {EventKind.NOTE_ADDED, EventKind.CLAIMED, EventKind.HANDOFF, EventKind.LEAD_OUTCOME}
) | {EventKind.ARRIVAL}

__all__ = ["Tablet"]


_R = TypeVar("_R")
PROBE_EVERY_S = 2.0
REASONS = {
    "idle": N_("Logged out after a long time without use"),
    "session_ended": N_("The login has ended; please log in again"),
    "paused": "",
    "exit": "",
}


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise WireError(f"{value!r} is not a staff role") from None


class Tablet(HubCalls, HandoffVerbs):  # HubCalls first: its plumbing, not the stubs
    """One tablet: its device files, its hub connection, and what the logged-in user sees."""

    def __init__(
        self,
        store: DeviceStore,
        *,
        idle_timeout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.store = store
        self.state = TabletState()
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock
        self.backoff = backoff
        self.client: HubClient | None = None
        self.aclient: AsyncHubClient | None = None
        self.stream: EventStream | None = None
        self.message = ""
        self.wiped = False
        self.event_times: dict[int, float] = {}  # seq -> when it reached the inbox (bench only)
        self.record_times = False
        self._last_activity = clock()
        self._hub_worker = HubWorker(self.inbox, loop)
        self._probing = False
        self._next_probe = 0.0
        self.failures: deque[str] = deque(maxlen=20)  # tag + error class/code: no customer data
        self.screen = "login" if store.enrolled else "setup"
        self.found_hubs: list[Any] = []
        self.renewal = RenewalCheck(clock)
        self.follower = HubFollower(clock)
        self.showcase = Showcase(self)  # products compared or presented (tablet/showcase.py)
        self.catalogue_keeper = CatalogueKeeper(clock, Path(store.root) / "catalogue")
        self.catalogue: CatalogueSource = self.catalogue_keeper  # what the product screens read
        self.bookings = Bookings()  # same-day appointments (tablet/booking.py)

    # -- plumbing ---------------------------------------------------------------------------
    def activity(self) -> None:
        """Note a touch: restarts the idle timer."""
        self._last_activity = self.clock()

    # -- first start --------------------------------------------------------------------------
    def enrol(self, hub_url: str, code_text: str, fingerprint: str, kind: str = "tablet") -> None:
        """Enrol this device with the hub (see tablet.enrolment)."""
        from tablet.enrolment import enrol_device

        self.store.save_settings(hub_url=hub_url.strip().rstrip("/"))
        self.submit(
            "enrol", lambda: enrol_device(self.store, hub_url, code_text, fingerprint, kind)
        )

    def discover(self, interfaces: list[str] | None = None) -> None:
        """Look for hubs by mDNS; results land in `found_hubs`."""
        from branch_hub.client.discovery import find_hubs

        self.submit("discover", lambda: find_hubs(interfaces))

    # -- session ------------------------------------------------------------------------------
    def login(self, staff_id: str, pin: str) -> None:
        """Log in, then load today's visits and open the live stream."""
        self.activity()

        async def job() -> tuple[LoginResult, int, tuple[VisitRow, ...]]:
            client = self._aclient()
            answer = await once_more_async(lambda: client.login(staff_id.strip(), pin))
            self._client().token = client.token
            last = (await client.health()).last_seq
            return answer, last, await client.visits("all")

        self.submit("login", job)

    def start_stream(self, since: int) -> None:
        """Open the live stream of the branch's events from `since`."""
        stream = self._aclient().staff_events(since, self._on_notice, self.backoff)
        self.stream = stream.start_on(self._hub_worker.loop)

    def _on_notice(self, notice: StreamNotice) -> None:
        if self.record_times and notice.kind == "message":
            seq = notice.data.get("seq")
            if isinstance(seq, int):
                self.event_times[seq] = time.perf_counter()
        self.inbox.put(("stream", notice))

    def logout(self, reason: str = "") -> None:
        """End the session (telling the hub if it can be reached) and forget all customer data."""
        client, stream = self.client, self.stream
        self.stream = None
        if stream is not None:
            stream.stop(2.0)
        if client is not None and client.token:
            token = client.token

            async def tell_hub() -> None:
                probe = AsyncHubClient(client.base_url, client.tls, token=token, timeout_s=2.0)
                try:
                    await probe.logout()
                finally:
                    await probe.close()

            self.submit("logout", tell_hub)
            client.token = None
            if self.aclient is not None:
                self.aclient.token = None
        self.state.clear()
        self.bookings.clear()
        forget_report_files(self.store)  # staff figures leave with the staff member
        why = REASONS.get(reason, reason)
        self.message = said(why) if why else ""
        self.screen = "login" if self.store.enrolled else "setup"

    def pause(self) -> None:
        """The app goes to the background: the same as a logout (nothing stays in memory)."""
        self.logout("paused")

    def check_idle(self) -> bool:
        """Log out after `idle_timeout_s` without a touch; True if it did."""
        if (
            self.state.session is not None
            and self.clock() - self._last_activity > self.idle_timeout_s
        ):
            self.logout("idle")
            return True
        return False

    def wipe(self, reason: str = "device_revoked") -> None:
        """The hub no longer trusts this device: log out and delete the device key."""
        self.logout(reason)
        self.store.forget_identity()
        if self.client is not None:
            self.client.close()
        self.client = None
        self._drop_aclient()
        self.wiped = True
        self.screen = "setup"

    def close(self) -> None:
        """App exit: log out and stop the worker."""
        self.logout("exit")
        self._drop_aclient()
        self._hub_worker.stop(3.0)
        if self.client is not None:
            self.client.close()

    async def aclose(self) -> None:
        """App exit on the app's loop: as `close`, waiting for the last calls there."""
        self.logout("exit")
        self._drop_aclient()
        await self._hub_worker.drain(3.0)
        if self.client is not None:
            self.client.close()

    # -- work ---------------------------------------------------------------------------------
    def open_brief(self, visit_id: str) -> None:
        """Fetch the visit's brief for my role."""
        self.activity()

        async def job() -> Any:
            client = self._aclient()
            return await once_more_async(lambda: client.brief(visit_id))

        self.submit("brief", job)

    def load_board(self) -> None:
        """Fetch the lobby board (lobby and branch managers)."""
        self.submit("board", lambda: once_more(lambda: self._client().lobby_board()))

    def claim(self, visit_id: str) -> None:
        """Claim the customer."""
        self._acommand("claim", CommandRequest, lambda c, r: c.claim(visit_id, r))

    def add_note(self, visit_id: str, text: str, for_role: str | None = None) -> None:
        """Leave a note for colleagues."""
        self._acommand(
            "note",
            lambda: NoteRequest(text, _role(for_role) if for_role else None),
            lambda c, r: c.add_note(visit_id, r),
        )

    def record_outcome(
        self, visit_id: str, lead_id: str, outcome: str, note: str = "", **detail: str | None
    ) -> None:
        """Record a lead's outcome (`reason=` with a decline, `follow_up_on=` with a follow-up)."""
        build = partial(outcome_request, outcome, note, **detail)
        self._acommand("outcome", build, lambda c, r: c.lead_outcome(visit_id, lead_id, r))

    def call_next(self, counter_id: str) -> None:
        """Call the next ticket to my counter."""
        self._acommand("serve", CommandRequest, lambda c, r: c.call_next(counter_id, r))

    def ticket_op(
        self,
        op: TicketOperation | str,
        *,
        service: str | None = None,
        counter: str | None = None,
    ) -> None:
        """Recall, no-show, finish, park or transfer (to `service` or `counter`) my ticket."""
        serving = self.state.serving
        if serving is None:
            self.message = said(N_("No ticket is being served"))
            self.state.touch()
            return
        try:
            operation = TicketOperation(op)
        except ValueError:
            self.message = said(N_("That cannot be done"))
            self.state.touch()
            return
        tag = "serve" if operation is TicketOperation.RECALL else "served"

        def build() -> CommandRequest | TransferRequest:
            if operation is TicketOperation.TRANSFER:
                return TransferRequest(service, counter)
            return CommandRequest()

        self._acommand(tag, build, lambda c, r: c.ticket_operation(operation, serving.id, r))

    # -- UI thread ----------------------------------------------------------------------------
    def pump(self, limit: int = 500) -> int:
        """Apply what arrived from the hub (call on the UI thread each frame); returns how many."""
        handled = 0
        while handled < limit:
            try:
                kind, payload = self.inbox.get_nowait()
            except queue.Empty:
                break
            handled += 1
            if kind == "stream":
                self._apply_notice(payload)
            elif kind in ("done", "failed"):
                self._settle(kind, *payload)
        self._probe_if_down()
        self.renewal.poll(self.store, self.submit, self._client)
        self.follower.poll(self.store, self.submit)
        self.catalogue_keeper.poll(self.store, self.submit, self._client)
        self.check_idle()
        return handled

    def _settle(self, kind: str, tag: str, answer: Any) -> None:
        self._hub_worker.settled()
        if tag == "probe":
            self._probing = False
        if tag == "follow":
            return self.follower.settled(self.client, answer if kind == "done" else None)
        if tag not in ("discover", "enrol", "renew"):  # calls to the saved hub: reachable?
            self.follower.reachable(not isinstance(answer, HubUnavailable))
        if tag in ("renew", "catalogue"):
            check = self.renewal if tag == "renew" else self.catalogue_keeper
            if check.settled(answer if kind == "failed" else None):
                apply_failure(self, tag, answer)
            return
        if kind == "failed":
            apply_failure(self, tag, answer)
        elif tag != "probe":
            apply_result(self, tag, answer)

    def _probe_if_down(self) -> None:
        # While the stream is down, ask over REST now and then why: the hub may have ended the
        # session (restart, idle) or revoked the device, which the WebSocket cannot tell us.
        if self.state.session is None or self.state.connected or self._probing:
            return
        now = self.clock()
        if now < self._next_probe:
            return
        self._next_probe = now + PROBE_EVERY_S
        self._probing = True

        async def probe() -> Any:
            return await self._aclient().visits("waiting")

        self.submit("probe", probe)

    def _apply_notice(self, notice: StreamNotice) -> None:
        if self.state.session is None:
            return  # late message after logout: dropped, never kept
        if notice.kind == "message":
            self.state.on_event(notice.data)
            self._refresh_open_brief(notice.data)
            follow_timeline(self, notice.data)
            offers = self.state.handoffs.offers
            if self.state.brief is None and offers:  # a customer handed to me: their brief
                self.open_brief(next(reversed(offers)))
        elif notice.kind in ("connected", "disconnected"):
            self.state.connected = notice.kind == "connected"
            self.follower.reachable(self.state.connected)
            self.state.touch()
        elif notice.kind == "resync":
            self._reload()  # too slow, pruned or another log: the lists come again over REST
        elif notice.kind == "session_ended":
            # Logout elsewhere, another login here, account disabled or idle: the hub closed the
            # stream for good, so the lists go and the login screen comes back.
            self.logout("session_ended")

    def _refresh_open_brief(self, message: Any) -> None:
        """A colleague's note, claim, hand-off or outcome on the open brief: fetch it again."""
        brief = self.state.brief
        data = message.get("data") if isinstance(message, dict) else None
        if brief is None or not isinstance(data, dict) or message.get("kind") not in _BRIEF_KINDS:
            return
        if data.get("visit_id") == brief.visit_id and data.get("by") != self._staff_id():
            self.open_brief(brief.visit_id)

    def _staff_id(self) -> str | None:
        session = self.state.session
        return session.staff_id if session is not None else None

    def _reload(self) -> None:
        async def job() -> tuple[int, tuple[VisitRow, ...]]:
            client = self._aclient()
            last = (await client.health()).last_seq
            return last, await client.visits("all")

        self.submit("reload", job)
