"""Colleagues in one timeline: this visit and the customer's earlier visits, by name and role.

Over TLS against a hub built as production builds it: the customer's earlier visit (a month ago)
is written to the same stores the desk writes to, today's visit comes through the kiosk, and
staff of four roles claim, note, hand off, record outcomes and read the timeline.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.client.models import VisitTimeline
from branch_hub.ids import new_visit_id
from branch_hub.lobby.visits import Visit
from tests.support.lobbyenv import BuiltCache, RunningHub, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("timeline-cache"), customers=40)


def _config() -> Any:
    # The teller's brief hides notes in this branch: the timeline must hide them too.
    config = branch_config()
    briefs = config.briefs.model_copy(update={"hide": {"teller": ["notes", "leads"]}})
    return config.model_copy(update={"briefs": briefs})


def _earlier_visit(run: RunningHub, customer: dict[str, Any], days_ago: int) -> str:
    """A visit of the customer weeks ago, with colleagues' work, in the hub's own stores."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    day = at.astimezone(run.lobby.zone).date()
    visit_id, cid = new_visit_id(), customer["customer_id"]
    run.lobby.visits.add(
        Visit(visit_id, day.isoformat(), f"{day:%Y%m%d}-A001", "K1", at.isoformat(), False, cid,
              customer["tier"], True, "pan")
    )  # fmt: skip
    notes = run.lobby.briefing.notes
    notes.claim(visit_id, staff_id="S-LOBBY", role="lobby_manager", at=at, customer_id=cid)
    notes.add_note(
        visit_id, by="S-WEALTH", role="wealth_manager", text="上次问过大额存单", customer_id=cid,
        at=at + timedelta(minutes=5),
    )  # fmt: skip
    notes.add_note(
        visit_id, by="S-LOBBY", role="lobby_manager", text="只给柜员看", customer_id=cid,
        for_role="teller", at=at + timedelta(minutes=6),
    )  # fmt: skip
    if not customer["leads"]:
        return visit_id
    lead = customer["leads"][0]["lead_id"]
    notes.record_outcome(
        visit_id, lead, "follow_up", by="S-WEALTH", role="wealth_manager", note="下月再谈",
        customer_id=cid, at=at + timedelta(minutes=9),
        follow_up_on=(at + timedelta(days=30)).date().isoformat(),
    )  # fmt: skip
    return visit_id


def test_timeline_of_two_visits_by_name_and_role(tmp_path: Path, cache: BuiltCache) -> None:
    customer = next(c for c in cache.customers if c["cards"] and c["leads"])
    other = next(c for c in cache.customers if c["cards"] and c is not customer)
    tls = make_tls_env(tmp_path / "pki")

    async def scenario() -> dict[str, Any]:
        async with running_hub(tmp_path / "hub", tls, _config(), cache) as run:
            earlier = _earlier_visit(run, customer, days_ago=30)
            _earlier_visit(run, other, days_ago=2)  # another customer's: never in this timeline
            async with aiohttp.ClientSession() as http:

                async def call(method: str, path: str, who: str, **kw: Any) -> tuple[int, Any]:
                    ssl, headers = run.staff(who)
                    url = f"{run.url}/api/v1{path}"
                    async with http.request(method, url, ssl=ssl, headers=headers, **kw) as resp:
                        return resp.status, await resp.json()

                session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
                body = {"service": "cash", "session_id": session.session_id}
                kiosk = tls.client_context("K1", "kiosk")
                async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk):
                    pass
                _, listed = await call("GET", "/visits?state=all", "lobby")
                (vid,) = [v["visit_id"] for v in listed["visits"]]
                assert (await call("POST", f"/visits/{vid}/claim", "lobby"))[0] == 200
                note = {"text": "客户关注理财到期", "for_role": "wealth_manager"}
                assert (await call("POST", f"/visits/{vid}/notes", "lobby", json=note))[0] == 201
                assert (await call("POST", "/counters/C1/call-next", "teller"))[0] == 200
                seen = {who: await call("GET", f"/visits/{vid}/timeline", who)
                        for who in ("wealth", "account", "teller")}  # fmt: skip
                missing = await call("GET", "/visits/0123456789abcdef/timeline", "wealth")
            run.hub.audit.flush(10)
            audited = [(e.action, e.staff_id) for e in run.hub.audit.entries()]
            return {"seen": seen, "missing": missing, "audited": audited, "earlier": earlier}

    out = asyncio.run(scenario())
    status, body = out["seen"]["wealth"]
    assert status == 200
    timeline = VisitTimeline.from_wire(body)
    assert timeline.to_wire() == body  # the client model reads the hub's answer exactly
    now, before = timeline.visits
    assert now.current
    assert not before.current
    assert before.visit_id == out["earlier"]
    assert before.day < now.day
    # Newest first; names and roles from the staff store; the queue's call with its counter.
    kinds = [(e.kind, e.name, e.role, e.text) for e in now.entries]
    assert kinds[0][0] == "called"
    assert now.entries[0].counter_number == 1
    assert kinds[1:] == [
        ("note", "lobby", "lobby_manager", "客户关注理财到期"),
        ("claim", "lobby", "lobby_manager", ""),
    ]
    assert [(e.kind, e.name, e.text) for e in before.entries] == [
        ("outcome", "wealth", "下月再谈"),
        ("note", "wealth", "上次问过大额存单"),  # the note only for tellers is not here
        ("claim", "lobby", ""),
    ]
    outcome = before.entries[0]
    assert (outcome.outcome, outcome.product) == ("follow_up", customer["leads"][0]["product"])
    # The account manager does not see a note meant for wealth managers.
    account = VisitTimeline.from_wire(out["seen"]["account"][1])
    assert [e.kind for e in account.visits[0].entries] == ["called", "claim"]
    # This branch hides notes (and leads) from tellers: claims and the queue only.
    teller = VisitTimeline.from_wire(out["seen"]["teller"][1])
    assert {e.kind for v in teller.visits for e in v.entries} <= {"claim", "called"}
    assert "只给柜员看" not in str(out["seen"]["teller"][1])
    # No PIN or hash ever; an unknown visit is a typed 404 in Chinese.
    assert "secret" not in str(body)
    assert "580213" not in str(body)
    status, refused = out["missing"]
    assert (status, refused["error"]["code"]) == (404, "unknown_visit")
    assert not refused["error"]["message_zh"].isascii()  # Chinese
    assert ("timeline_view", "S-WEALTH") in out["audited"]
    assert ("timeline_view", "S-TELLER") in out["audited"]


def test_timeline_keeps_the_last_visits_only(tmp_path: Path, cache: BuiltCache) -> None:
    customer = next(c for c in cache.customers if c["cards"] and c["leads"])
    tls = make_tls_env(tmp_path / "pki")
    config = branch_config()
    briefs = config.briefs.model_copy(update={"timeline_visits": 2, "timeline_days": 60})
    config = config.model_copy(update={"briefs": briefs})

    async def scenario() -> VisitTimeline:
        async with running_hub(tmp_path / "hub", tls, config, cache) as run:
            kept = [_earlier_visit(run, customer, days_ago=d) for d in (90, 40, 20, 10)]
            session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
            async with aiohttp.ClientSession() as http:
                body = {"service": "cash", "session_id": session.session_id}
                kiosk = tls.client_context("K1", "kiosk")
                async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk):
                    pass
                ssl, headers = run.staff("wealth")
                async with http.get(
                    f"{run.url}/api/v1/visits?state=all", ssl=ssl, headers=headers
                ) as resp:
                    (vid,) = [v["visit_id"] for v in (await resp.json())["visits"]]
                url = f"{run.url}/api/v1/visits/{vid}/timeline"
                async with http.get(url, ssl=ssl, headers=headers) as resp:
                    timeline = VisitTimeline.from_wire(await resp.json())
            assert [v.visit_id for v in timeline.visits[1:]] == [kept[3], kept[2]]
            return timeline

    timeline = asyncio.run(scenario())
    assert timeline.visits[0].current
    assert timeline.visits[0].entries == ()
