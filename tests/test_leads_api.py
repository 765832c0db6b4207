"""Lead outcomes over TLS: reasons and dates checked with typed Chinese refusals, never a 500;
a declined lead is held back on every colleague's brief; HQ's history comes through the bundle."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("leads-cache"))


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _held_by_hq(customer: dict[str, Any]) -> set[str]:
    """Leads HQ's history declined well inside the 30-day window (a day's margin either way)."""
    recent = {
        d["product_code"]
        for d in customer.get("lead_declines") or []
        if 1 <= (_today() - date.fromisoformat(d["declined_on"])).days <= 28
    }
    return {lead["lead_id"] for lead in customer["leads"] if lead["product_code"] in recent}


def _customers(cache: BuiltCache) -> tuple[dict[str, Any], dict[str, Any]]:
    """One customer with three leads and no HQ declines, one whose HQ history holds a lead back."""
    plain = next(c for c in cache.customers if len(c["leads"]) >= 3 and not c.get("lead_declines"))
    held = next(c for c in cache.customers if c["cards"] and _held_by_hq(c))
    return plain, held


BAD_BODIES = [
    ({"outcome": "declined"}, "bad_decline_reason"),
    ({"outcome": "declined", "reason": "too_pricey"}, "bad_decline_reason"),
    ({"outcome": "accepted", "reason": "other"}, "bad_decline_reason"),
    ({"outcome": "follow_up"}, "bad_follow_up_date"),
    ({"outcome": "follow_up", "follow_up_on": "tomorrow"}, "bad_follow_up_date"),
    ({"outcome": "follow_up", "follow_up_on": "2026-02-30"}, "bad_follow_up_date"),
    ({"outcome": "not_suitable", "follow_up_on": "2099-01-01"}, "bad_follow_up_date"),
    ({"outcome": "not_interested"}, "bad_outcome"),
]


def test_outcomes_reasons_dates_and_do_not_repitch(tmp_path: Path, cache: BuiltCache) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    plain, held = _customers(cache)
    today = _today()

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            logins = {name: run.staff(name) for name in ("wealth", "account")}
            async with aiohttp.ClientSession() as http:

                async def call(method: str, path: str, who: str, **kw: Any) -> tuple[int, Any]:
                    ssl, headers = logins[who]
                    url = f"{run.url}/api/v1{path}"
                    async with http.request(method, url, ssl=ssl, headers=headers, **kw) as resp:
                        return resp.status, await resp.json()

                async def arrive(customer: dict[str, Any]) -> str:
                    pan = customer["cards"][0]["pan"]
                    session = await run.lobby.identify("K1", "pan", pan)
                    body = {"service": "cash", "session_id": session.session_id}
                    url = f"{run.url}/api/v1/kiosk/tickets"
                    async with http.post(url, json=body, ssl=kiosk) as resp:
                        number = (await resp.json())["ticket"]["number"]
                    _, listed = await call("GET", "/visits?state=all", "wealth")
                    found = [v for v in listed["visits"] if v["ticket"]["number"] == number]
                    return str(found[0]["visit_id"])

                vid, held_vid = await arrive(plain), await arrive(held)
                status, brief = await call("GET", f"/visits/{vid}/brief", "wealth")
                assert status == 200
                assert brief["do_not_repitch"] == []
                first, second = (lead["lead_id"] for lead in brief["leads"][:2])
                outcome = f"/visits/{vid}/leads/{first}/outcome"

                # Bad reasons and dates: typed refusals with their Chinese, never a 500.
                for body, code in BAD_BODIES:
                    status, answer = await call("POST", outcome, "wealth", json=body)
                    assert (status, answer["error"]["code"]) == (400, code), body
                    assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["error"]["message_zh"])
                too_far = (today + timedelta(days=91)).isoformat()
                body = {"outcome": "follow_up", "follow_up_on": too_far}
                status, answer = await call("POST", outcome, "wealth", json=body)
                assert (status, answer["error"]["code"]) == (400, "bad_follow_up_date")

                # A follow-up with its date.
                next_week = (today + timedelta(days=7)).isoformat()
                body = {"outcome": "follow_up", "follow_up_on": next_week}
                path = f"/visits/{vid}/leads/{second}/outcome"
                status, answer = await call("POST", path, "wealth", json=body)
                assert (status, answer["follow_up_on"], answer["reason"]) == (201, next_week, None)

                # A decline with its reason; its retry gets the first answer.
                body = {"outcome": "declined", "reason": "rate_unattractive", "request_id": "r-1"}
                status, answer = await call("POST", outcome, "wealth", json=body)
                assert (status, answer["reason"]) == (201, "rate_unattractive")
                status, again = await call("POST", outcome, "wealth", json=body)
                assert (status, again) == (201, answer)

                # Every colleague's brief now holds the lead back, with when and why.
                for who in ("wealth", "account"):
                    status, brief = await call("GET", f"/visits/{vid}/brief", who)
                    assert first not in [lead["lead_id"] for lead in brief["leads"]]
                    [back] = brief["do_not_repitch"]
                    assert back["lead_id"] == first
                    assert (back["reason"], back["source"], back["role"]) == (
                        "rate_unattractive",
                        "branch",
                        "wealth_manager",
                    )
                    assert back["declined_on"] == today.isoformat()
                    later = next(lead for lead in brief["leads"] if lead["lead_id"] == second)
                    assert later["recorded"]["follow_up_on"] == next_week
                    assert later["recorded"]["role"] == "wealth_manager"

                # The hub refuses any outcome on a held-back lead (HQ's or the branch's).
                status, answer = await call(
                    "POST", outcome, "account", json={"outcome": "accepted"}
                )
                assert (status, answer["error"]["code"]) == (409, "lead_not_offered")
                assert "请勿再次推荐" in answer["error"]["message_zh"]
                status, brief = await call("GET", f"/visits/{held_vid}/brief", "wealth")
                hq_held = {lead["lead_id"]: lead for lead in brief["do_not_repitch"]}
                assert set(hq_held) == _held_by_hq(held)
                lead_id, back = next(iter(hq_held.items()))
                assert back["source"] == "hq"
                path = f"/visits/{held_vid}/leads/{lead_id}/outcome"
                status, answer = await call("POST", path, "wealth", json={"outcome": "accepted"})
                assert (status, answer["error"]["code"]) == (409, "lead_not_offered")

            # HQ's records carry the reason code and the follow-up date.
            box = run.hub.outbox
            sent = [i.payload for i in box.for_day(box.today()) if i.kind == "lead_outcome"]
            assert {(p["outcome"], p.get("reason"), p.get("follow_up_on")) for p in sent} == {
                ("follow_up", None, next_week),
                ("declined", "rate_unattractive", None),
            }

    asyncio.run(scenario())
