"""The tablet's late identification without a window: what the field takes, who may, the answer.

The number typed goes with its request and nothing else: once the call has ended, the job holds
no reference to it.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from branch_hub.client.models import IdentifyRequest, ServedTicket, TicketResult
from tablet.i18n import DEFAULT_LOCALE, EN, use_language
from tablet.identify import apply_identify, fits, identify, kept, may_identify, typed
from tablet.state import StaffSession, TabletState

ID_NUMBER = "11010119900307123X"


def _state(role: str = "lobby_manager", state: str = "waiting") -> TabletState:
    tablet_state = TabletState()
    tablet_state.session = StaffSession("lm1", role, "测试", "-")
    row = {
        "visit_id": "v1",
        "walk_in": True,
        "ticket": {"id": "T-20261203-A012", "number": "A012", "service": "cash", "state": state},
    }
    tablet_state.board.load([row], 0)
    return tablet_state


def _ticket() -> TicketResult:
    served = ServedTicket("T-20261203-A012", "A012", "cash", "waiting", None, "", None, "v1")
    return TicketResult(served)


def test_the_field_takes_digits_and_an_id_numbers_final_x() -> None:
    assert typed("id_number", "11010119900307123x") == ID_NUMBER
    assert typed("id_number", "X1101") == "1101", "an X only at the end"
    assert typed("id_number", "1" * 30) == "1" * 18
    assert typed("pan", "6222 0210-0112 3456x") == "6222021001123456"
    assert typed("passbook", "1" * 40) == "1" * 32
    assert fits("id_number", ID_NUMBER)
    assert not fits("id_number", ID_NUMBER[:-1])
    assert fits("pan", "6222021001123456")
    assert not fits("pan", "12345")
    assert not fits("name", "12345678")


def test_only_the_lobby_managers_identify_a_waiting_walk_in() -> None:
    brief = SimpleNamespace(visit_id="v1", walk_in=True)
    assert may_identify(SimpleNamespace(state=_state()), brief) == "T-20261203-A012"
    assert may_identify(SimpleNamespace(state=_state("branch_admin")), brief)
    assert may_identify(SimpleNamespace(state=_state("teller")), brief) is None
    assert may_identify(SimpleNamespace(state=_state(state="called")), brief) is None
    known = SimpleNamespace(visit_id="v1", walk_in=False)
    assert may_identify(SimpleNamespace(state=_state()), known) is None
    assert may_identify(SimpleNamespace(state=_state()), None) is None


class _Client:
    def __init__(self) -> None:
        self.sent: list[IdentifyRequest] = []

    async def identify_ticket(self, ticket_id: str, request: IdentifyRequest) -> TicketResult:
        self.sent.append(request)
        return _ticket()

    async def brief(self, visit_id: str) -> Any:
        return SimpleNamespace(visit_id=visit_id, walk_in=False, salutation_zh="王先生")


def test_the_job_drops_the_number_once_answered() -> None:
    client, jobs = _Client(), []
    tablet = SimpleNamespace(
        activity=lambda: None,
        _aclient=lambda: client,
        submit=lambda tag, job: jobs.append((tag, job)),
    )
    request_id = identify(tablet, "v1", "T-20261203-A012", "id_number", ID_NUMBER)
    ((tag, job),) = jobs
    answer = asyncio.run(job())
    assert tag == "identify"
    assert answer[0] == request_id
    assert answer[1] == "v1"
    assert (client.sent[0].by, client.sent[0].value) == ("id_number", ID_NUMBER)
    client.sent.clear()
    held = [cell.cell_contents for cell in job.__closure__ or ()]
    assert not any(ID_NUMBER in repr(value) for value in held), "nothing keeps the number"
    assert [] in held, "the request went with the call"


def test_the_answer_shows_the_customer_and_keeps_the_line() -> None:
    state = _state()
    tablet = SimpleNamespace(state=state, message="")
    brief: Any = SimpleNamespace(visit_id="v1", walk_in=False, salutation_zh="王先生")
    try:
        use_language(DEFAULT_LOCALE)
        apply_identify(tablet, "identify", ("rid-00000001", "v1", _ticket(), brief))
        assert tablet.message == "A012 已识别为王先生"
        assert tablet.message.request_id == "rid-00000001"
        assert state.brief is brief
        assert kept(tablet)
        use_language(EN)
        apply_identify(tablet, "identify", ("rid-00000002", "v1", _ticket(), None))
        assert tablet.message == "A012 identified"
    finally:
        use_language(DEFAULT_LOCALE)
    tablet.message = ""
    assert not kept(tablet)
