"""A branch day over TLS, then its report recomputed from the raw rows: every figure matches.

Kiosk arrivals (a chip card and a swiped stripe fed as the station's device events, passbook, ID card, an unknown card, walk-ins), counter calls, finishes,
a no-show and a transfer, lead outcomes, a hand-off taken and one not, product views; then the
branch manager's report (with the staff table), the lobby manager's (without), a teller refused,
and every view audited as `report_view`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from branch_hub.client.models import BranchReport
from drivers.events import CardRead, DeviceEvent, EventKind
from tests.support.lobbyenv import (
    STAFF_PIN,
    BuiltCache,
    RunningHub,
    branch_config,
    build_cache,
    running_hub,
)
from tests.support.report_recount import device_part, queue_part, work_part
from tests.support.tlsenv import make_tls_env

Call = Any


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("report-cache"))


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _customers(cache: BuiltCache) -> list[dict[str, Any]]:
    plain = [c for c in cache.customers if len(c["leads"]) >= 2 and not c.get("lead_declines")]
    with_passbook = next(c for c in plain if c["passbooks"])
    carded = [c for c in plain if c["cards"] and c is not with_passbook][:3]
    return [with_passbook, *carded]


CARD_DEVICES = {"chip": "card_reader", "stripe": "magstripe"}


def _card_read(how: str, pan: str) -> DeviceEvent:
    """A bank card read by the kiosk's chip reader or swiped through its stripe reader."""
    chip = how == "chip"
    payload = CardRead(
        pan=pan,
        expiry="3012",
        aid="A000000333010101" if chip else "",
        source="ppse" if chip else "stripe",
        reader="ACS ACR39U 00" if chip else "",
    )
    return DeviceEvent("K1", CARD_DEVICES[how], EventKind.card_read, payload)


async def _arrive(
    run: RunningHub, http: aiohttp.ClientSession, service: str, read: tuple[str, str] | None
) -> str:
    session_id = None
    if read is not None and read[0] in CARD_DEVICES:
        await run.lobby.on_device_event(_card_read(*read))  # as the station's driver reports it
        session = run.lobby.sessions.current("K1")
        assert session is not None
        session_id = session.session_id
    elif read is not None:
        session_id = (await run.lobby.identify("K1", *read)).session_id
    body = {"service": service, "session_id": session_id}
    kiosk = run.tls.client_context("K1", "kiosk")
    async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
        assert resp.status == 201
        return str((await resp.json())["ticket"]["number"])


def _caller(run: RunningHub, http: aiohttp.ClientSession, who: str) -> Call:
    ssl, headers = run.staff(who)

    async def call(method: str, path: str, **kw: Any) -> tuple[int, Any]:
        url = f"{run.url}/api/v1{path}"
        async with http.request(method, url, ssl=ssl, headers=headers, **kw) as resp:
            return resp.status, await resp.json()

    return call


async def _counter_work(teller: Call, wealth: Call) -> None:
    """Calls, finishes, a no-show and a transfer at C1; the wealth counter V1 serves two."""
    _, first = await teller("POST", "/counters/C1/call-next")
    _, second = await teller("POST", "/counters/C1/call-next")  # finishes the first
    assert first["ticket"]
    assert second["ticket"]
    status, _ = await teller("POST", f"/tickets/{second['ticket']['id']}/no-show")
    assert status == 200
    _, third = await teller("POST", "/counters/C1/call-next")
    status, _ = await teller(
        "POST", f"/tickets/{third['ticket']['id']}/transfer", json={"service": "wealth"}
    )
    assert status == 200
    await asyncio.sleep(0.3)  # idle while customers wait
    _, fourth = await teller("POST", "/counters/C1/call-next")
    await teller("POST", f"/tickets/{fourth['ticket']['id']}/finish")
    for _ in range(2):
        await wealth("POST", "/counters/V1/call-next")
        await asyncio.sleep(0.1)
    await wealth("POST", "/counters/V1/call-next")


async def _lead_work(wealth: Call, account: Call, visits: list[str]) -> None:
    """Outcomes of every kind, a hand-off accepted and one left waiting."""
    follow = (_today() + timedelta(days=7)).isoformat()
    bodies = [
        {"outcome": "accepted"},
        {"outcome": "declined", "reason": "rate_unattractive"},
        {"outcome": "follow_up", "follow_up_on": follow},
        {"outcome": "not_suitable"},
        {"outcome": "declined", "reason": "no_funds_now"},
    ]
    n = 0
    for visit in visits:
        _, brief = await wealth("GET", f"/visits/{visit}/brief")
        for lead in brief["leads"][:2]:
            path = f"/visits/{visit}/leads/{lead['lead_id']}/outcome"
            status, _ = await wealth("POST", path, json=bodies[n % len(bodies)])
            if status == 409:  # not suitable for this customer: say so instead
                status, _ = await wealth("POST", path, json={"outcome": "not_suitable"})
            assert status == 201
            n += 1
    to_role = {"to_role": "account_manager", "location": "vip_room"}
    assert (await wealth("POST", f"/visits/{visits[0]}/handoff", json=to_role))[0] == 200
    await asyncio.sleep(0.2)
    assert (await account("POST", f"/visits/{visits[0]}/handoff/accept"))[0] == 200
    assert (await wealth("POST", f"/visits/{visits[1]}/handoff", json=to_role))[0] == 200


def _add_views(run: RunningHub, day: str) -> None:
    """Product views in the rows the hub writes (the catalogue is not part of this day)."""
    rows = [
        ("v1", "S-WEALTH", "WM2026A0001", "presented"),
        ("v2", "S-WEALTH", "WM2026A0001", "presented"),
        ("v3", "S-ACCOUNT", "WM2026A0002", "viewed"),
        ("v4", "S-WEALTH", "WM2026A0002", "compared"),
    ]
    with run.hub.db.transaction() as db:
        for view_id, staff, code, mode in rows:
            db.execute(
                "INSERT INTO product_views VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (view_id, day, f"{day}T10:00:00+08:00", staff, code, mode),
            )


def _expected(run: RunningHub, cache: BuiltCache, day: str) -> dict[str, Any]:
    leads = {
        (c["customer_id"], lead["lead_id"]): (
            lead["product_code"],
            tuple(lead.get("product_codes") or ()),
            (lead.get("confirmed") or {}).get("product"),
        )
        for c in cache.customers
        for lead in c["leads"]
    }
    queue, served = queue_part(run.hub, day)
    work, worked = work_part(run.hub, day, leads)
    directory = run.security.staff.directory()
    staff = []
    for staff_id in sorted(set(served) | set(worked)):
        name, role = directory.get(staff_id, (None, None))
        line = {
            "staff_id": staff_id,
            "name": name,
            "role": role,
            "service": {"count": 0, "mean_s": None, "p50_s": None, "p90_s": None},
            "idle_s": 0.0,
            "idle_while_waiting_s": 0.0,
            "leads": {
                "presented": 0,
                "accepted": 0,
                "declined": 0,
                "follow_up": 0,
                "not_suitable": 0,
                "conversion": None,
                "confirmed": 0,
                "confirmed_rate": None,
            },
            "handoffs_given": 0,
            "handoffs_taken": {"count": 0, "mean_s": None, "p50_s": None, "p90_s": None},
            "product_views": 0,
        }
        staff.append(line | served.get(staff_id, {}) | worked.get(staff_id, {}))
    devices = {"complete": False, "by_device": device_part(run.hub)}
    return queue | work | {"staff": staff, "devices": devices}


def test_the_day_report_matches_the_raw_rows(tmp_path: Path, cache: BuiltCache) -> None:
    tls = make_tls_env(tmp_path / "pki")
    customers = _customers(cache)
    day = _today().isoformat()

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            run.security.staff.add("S-BM", "行长 李明", "branch_admin", STAFF_PIN)
            async with aiohttp.ClientSession() as http:
                reads = [
                    ("passbook", customers[0]["passbooks"][0]["account"]),
                    ("chip", customers[1]["cards"][0]["pan"]),
                    ("id_number", customers[2]["id_number"]),
                    ("stripe", customers[3]["cards"][0]["pan"]),
                    ("chip", "6222020000000000004"),
                    None,
                    None,
                ]
                services = ["cash", "cash", "wealth", "account", "cash", "cash", "account"]
                numbers = [
                    await _arrive(run, http, s, r) for s, r in zip(services, reads, strict=True)
                ]
                lobby = _caller(run, http, "lobby")
                _, listed = await lobby("GET", "/visits?state=all")
                visit_of = {v["ticket"]["number"]: v["visit_id"] for v in listed["visits"]}
                wealth, account = _caller(run, http, "wealth"), _caller(run, http, "account")
                await _counter_work(_caller(run, http, "teller"), wealth)
                await _lead_work(wealth, account, [visit_of[n] for n in numbers[:4]])
                _add_views(run, day)
                await run.lobby.alert("K1", "printer", "paper_out")
                await asyncio.sleep(0.2)
                await run.lobby.alert("K1", "printer", "ok", cleared=True)
                await run.lobby.alert("K1", "card_reader", "fault")  # still down
                await _reports(run, http, cache, day)

    asyncio.run(scenario())


async def _reports(
    run: RunningHub, http: aiohttp.ClientSession, cache: BuiltCache, day: str
) -> None:
    ssl = run.tls.client_context("TAB-bm", "tablet")
    token = run.security.sessions.create("S-BM", "branch_admin", "bm", "TAB-bm")
    url = f"{run.url}/api/v1/reports/day?date={day}"
    async with http.get(url, ssl=ssl, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        report = await resp.json()
    assert BranchReport.from_wire(report).to_wire() == report
    text = json.dumps(report, ensure_ascii=False)  # aggregates only: nobody named
    for customer in cache.customers:
        assert customer["customer_id"] not in text
        assert customer["name"] not in text
    for visit in run.hub.lobby.visits.of_day(day):
        assert visit.visit_id not in text
        assert visit.ticket_id.split("-")[1] not in text
    expected = _expected(run, cache, day)
    assert report["devices"]["kept_from"] is not None
    report["devices"].pop("kept_from")  # the log's first event: this day's first arrival
    for key, value in expected.items():
        assert report[key] == value, key
    assert report["business_days"] == [day]
    assert report["arrivals"]["total"] == 7
    assert report["recognition"]["by_method"] == {
        "chip_card": 1,
        "stripe": 1,
        "passbook": 1,
        "id_card": 1,
        "walk_in": 3,
    }
    assert report["recognition"]["unknown_reads"] == 1
    assert report["no_shows"] == 1
    assert report["transfers"] == 1
    assert report["handoffs"]["given"] == 2
    assert report["handoffs"]["accepted"] == 1
    assert report["leads"]["total"]["presented"] == 8
    bm = next(line for line in report["staff"] if line["staff_id"] == "S-TELLER")
    assert bm["idle_while_waiting_s"] >= 0.3
    lobby = _caller(run, http, "lobby")
    status, seen = await lobby("GET", f"/reports/week?date={day}")
    assert status == 200
    assert seen["staff"] is None
    assert seen["leads"]["total"] == report["leads"]["total"]
    status, refused = await _caller(run, http, "teller")("GET", "/reports/day")
    assert (status, refused["error"]["code"]) == (403, "role_forbidden")
    status, bad = await lobby("GET", "/reports/day?date=2026-13-01")
    assert (status, bad["error"]["code"]) == (400, "bad_report_period")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in bad["error"]["message_zh"])
    run.hub.audit.flush(10)
    views = [(e.action, e.staff_id) for e in run.hub.audit.entries() if e.action == "report_view"]
    assert views == [("report_view", "S-BM"), ("report_view", "S-LOBBY")]
