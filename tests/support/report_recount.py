"""The branch report recomputed from the raw rows, without the report's code (reconciliation).

Reads the queue's `events` table, the visits, the HQ outbox and `product_views` of one day and
derives every figure of GET /reports/day by its documented definition (docs/reports.md).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from branch_hub.hub import Hub

KINDS_ENDING = {"finished", "no_show", "transferred", "parked"}
OUTCOMES = ("accepted", "declined", "follow_up", "not_suitable")
REASONS = (
    "has_similar",
    "rate_unattractive",
    "no_funds_now",
    "wants_to_think",
    "distrusts_type",
    "other",
)


def rank(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return round(sorted(values)[math.ceil(p * len(values)) - 1], 1)


def spread(values: list[float]) -> dict[str, Any]:
    mean = round(sum(values) / len(values), 1) if values else None
    return {
        "count": len(values),
        "mean_s": mean,
        "p50_s": rank(values, 0.5),
        "p90_s": rank(values, 0.9),
    }


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def conversion(outcomes: Iterable[str], bought: Iterable[bool] = ()) -> dict[str, Any]:
    """`bought`: per outcome, whether HQ confirmed that lead (of that line) as purchased."""
    seen = list(outcomes)
    marks = list(bought) or [False] * len(seen)
    line: dict[str, Any] = {"presented": len(seen)} | {o: seen.count(o) for o in OUTCOMES}
    confirmed = sum(o == "accepted" and b for o, b in zip(seen, marks, strict=True))
    return line | {
        "conversion": ratio(line["accepted"], len(seen) - line["not_suitable"]),
        "confirmed": confirmed,
        "confirmed_rate": ratio(confirmed, line["accepted"]),
    }


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def queue_part(hub: Hub, day: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Arrivals, recognition, tickets, waits, no-shows, transfers, service times; staff lines."""
    zone = ZoneInfo(hub.config.branch.timezone)
    rows = hub.db.conn.execute("SELECT body FROM events WHERE day = ? ORDER BY seq", (day,))
    events = [orjson.loads(r[0]) for r in rows.fetchall()]
    visits = hub.lobby.visits.of_day(day)
    method = {
        "chip": "chip_card",
        "stripe": "stripe",
        "passbook": "passbook",
        "id_number": "id_card",
        "pan": "card",
    }
    methods = [("walk_in" if v.walk_in else method[v.identified_by or ""]) for v in visits]
    tier = {v.ticket_id: v.tier or "walk_in" for v in visits}
    issued = [e["ticket"] for e in events if e["kind"] == "ticket_issued"]
    hours = sorted({_at(t["issued_at"]).astimezone(zone).hour for t in issued})
    by_hour = [
        {"hour": h, "arrivals": sum(_at(t["issued_at"]).astimezone(zone).hour == h for t in issued)}
        for h in hours
    ]
    first_call: dict[str, float] = {}
    for e in events:
        if e["kind"] == "called" and e["ticket"]["id"] not in first_call:
            first_call[e["ticket"]["id"]] = (
                _at(e["at"]) - _at(e["ticket"]["issued_at"])
            ).total_seconds()
    lowest = min(hub.config.tiers, key=lambda t: t.min_aum_cny)
    target = {t.code: t.wait_target_s for t in hub.config.tiers} | {"walk_in": lowest.wait_target_s}
    tiers = sorted(
        {tier.get(t["id"], "walk_in") for t in issued}
        | {tier.get(i, "walk_in") for i in first_call}
    )
    waits = []
    for name in tiers:
        w = [s for i, s in first_call.items() if tier.get(i, "walk_in") == name]
        over = sum(s > target[name] for s in w)
        waits.append(
            {
                "tier": name,
                "called": len(w),
                "p50_s": rank(w, 0.5),
                "p90_s": rank(w, 0.9),
                "target_s": target[name],
                "breaches": over,
                "breach_share": ratio(over, len(w)),
            }
        )
    finished = [e for e in events if e["kind"] == "finished"]

    def times(key: Any) -> list[dict[str, Any]]:
        groups: dict[str, list[float]] = defaultdict(list)
        for e in finished:
            groups[key(e)].append(float(e["detail"]["service_s"]))
        return [{"key": k} | spread(v) for k, v in sorted(groups.items())]

    part = {
        "arrivals": {"total": len(issued), "by_hour": by_hour},
        "recognition": {
            "visits": len(visits),
            "by_method": {
                m: methods.count(m)
                for m in ("chip_card", "stripe", "passbook", "id_card", "walk_in", "card")
                if m != "card" or "card" in methods
            },
            "recognised_share": ratio(len(visits) - methods.count("walk_in"), len(visits)),
            "unknown_reads": sum(v.walk_in and v.identified_by is not None for v in visits),
        },
        "tickets": {
            "by_service": _count(t["services"][0] for t in issued),
            "by_tier": _count(tier.get(t["id"], "walk_in") for t in issued),
        },
        "waits": waits,
        "no_shows": sum(e["kind"] == "no_show" for e in events),
        "transfers": sum(e["kind"] == "transferred" for e in events),
        "service_times": {
            "service": times(lambda e: e["detail"]["service"]),
            "counter": times(lambda e: e["counter_id"]),
        },
    }
    return part, _staff_queue(events, finished)


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for v in values:
        out[v] += 1
    return dict(sorted(out.items()))


def _waiting_steps(events: list[dict[str, Any]]) -> list[tuple[datetime, int]]:
    waiting: set[str] = set()
    steps = []
    for e in events:
        t = e.get("ticket")
        if t is not None:
            (waiting.add if t["state"] == "waiting" else waiting.discard)(t["id"])
        steps.append((_at(e["at"]), len(waiting)))
    return steps


def _waited_within(steps: list[tuple[datetime, int]], a: datetime, b: datetime) -> float:
    total = 0.0
    for (t0, count), (t1, _) in itertools.pairwise(steps):
        lo, hi = max(t0, a), min(t1, b)
        if count > 0 and hi > lo:
            total += (hi - lo).total_seconds()
    return total


def _staff_queue(
    events: list[dict[str, Any]], finished: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    steps = _waiting_steps(events)
    lines: dict[str, dict[str, Any]] = {}
    by_staff: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        staff = (e.get("actor") or {}).get("staff_id")
        if staff is not None and e["kind"] in KINDS_ENDING | {"called", "counter_closed"}:
            by_staff[staff].append(e)
    for staff, mine in by_staff.items():
        idle = waited = 0.0
        free: datetime | None = None
        for e in mine:
            if e["kind"] == "called" and free is not None:
                idle += (_at(e["at"]) - free).total_seconds()
                waited += _waited_within(steps, free, _at(e["at"]))
            if e["kind"] in ("called", "counter_closed"):
                free = None
            if e["kind"] in KINDS_ENDING:
                free = _at(e["at"])
        served = [
            float(e["detail"]["service_s"])
            for e in finished
            if (e.get("actor") or {}).get("staff_id") == staff
        ]
        lines[staff] = {
            "service": spread(served),
            "idle_s": round(idle, 1),
            "idle_while_waiting_s": round(waited, 1),
        }
    return lines


def work_part(
    hub: Hub, day: str, leads: Mapping[tuple[str, str], tuple[str, tuple[str, ...], str | None]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Leads, hand-offs and product views; staff lines. `leads`: the export's lead facts (type,
    catalogue products, the product HQ confirmed as bought or None)."""
    items = list(hub.outbox.for_day(day))
    outcomes = [i.payload for i in items if i.kind == "lead_outcome"]
    types: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    products: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    marks: list[bool] = []
    for p in outcomes:
        kind, codes, bought = leads.get((p["customer_id"], p["lead_id"]), ("unknown", (), None))
        marks.append(bought is not None)
        types[kind].append((p["outcome"], bought is not None))
        for code in codes or ("unknown",):
            products[code].append((p["outcome"], bought == code))
    gives = [i for i in items if i.kind == "handoff"]
    taken: dict[str, list[float]] = defaultdict(list)
    for acc in (i for i in items if i.kind == "handoff_accepted"):
        visit = acc.idempotency_key.split(":")[1]
        given = [g for g in gives if g.idempotency_key.split(":")[1] == visit and g.row < acc.row]
        if given:
            taken[acc.payload["staff_id"]].append((_at(acc.at) - _at(given[-1].at)).total_seconds())
    views = hub.db.conn.execute(
        "SELECT staff_id, product_code, mode FROM product_views WHERE day = ?", (day,)
    ).fetchall()
    all_taken = [s for v in taken.values() for s in v]
    part = {
        "leads": {
            "total": conversion((p["outcome"] for p in outcomes), marks),
            "declined_by_reason": {r: sum(p.get("reason") == r for p in outcomes) for r in REASONS},
            "by_lead_type": [{"key": k} | _line(v) for k, v in sorted(types.items())],
            "by_product": [{"key": k} | _line(v) for k, v in sorted(products.items())],
        },
        "handoffs": {
            "given": len(gives),
            "accepted": len(all_taken),
            "not_accepted": len(gives) - len(all_taken),
            "taken_after": spread(all_taken),
        },
        "product_views": {
            "by_mode": _count(m for _, _, m in views),
            "presented_by_product": [
                {"product_code": c, "presented": n}
                for c, n in _count(c for _, c, m in views if m == "presented").items()
            ],
        },
    }
    staff = {p["staff_id"] for p in outcomes} | {g.payload["staff_id"] for g in gives}
    staff |= set(taken) | {s for s, _, _ in views}
    lines = {
        s: {
            "leads": conversion(
                (p["outcome"] for p in outcomes if p["staff_id"] == s),
                (m for p, m in zip(outcomes, marks, strict=True) if p["staff_id"] == s),
            ),
            "handoffs_given": sum(g.payload["staff_id"] == s for g in gives),
            "handoffs_taken": spread(taken.get(s, [])),
            "product_views": sum(v == s for v, _, _ in views),
        }
        for s in staff
    }
    return part, lines


def _line(pairs: list[tuple[str, bool]]) -> dict[str, Any]:
    return conversion((o for o, _ in pairs), (b for _, b in pairs))


def device_part(hub: Hub) -> list[dict[str, Any]]:
    """Alerts and minutes down per station device, from the whole live event log."""
    alerts = [e for e in hub.stream.log.iter_since(0) if e.kind == "device_alert"]
    lines = []
    for key in sorted({(e.data["station"], e.data["device"]) for e in alerts}):
        mine = [e for e in alerts if (e.data["station"], e.data["device"]) == key]
        down, since = 0.0, None
        for e in mine:
            if e.data["cleared"] and since is not None:
                down += (_at(e.at) - since).total_seconds()
                since = None
            elif not e.data["cleared"] and since is None:
                since = _at(e.at)
        faults = sum(not e.data["cleared"] for e in mine)
        lines.append(
            {
                "station": key[0],
                "device": key[1],
                "faults": faults,
                "minutes_down": round(down / 60, 1),
            }
        )
    return lines
