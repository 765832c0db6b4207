"""A busy branch's month as the hub writes it: queue events, sealed visits, HQ records, views.

Arrivals follow an hourly profile peaking at `peak` an hour; twenty counters serve first come,
first served (exponential service times); 3 % of calls are no-shows. A share of recognised
customers is presented leads (outcomes recorded for HQ), handed off (most accepted) and shown
catalogue products. Rows go in through the hub's own writers (`write_events`, `VisitStore.add`,
`Outbox.enqueue`, the `product_views` table) in one transaction per day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.database import HubDatabase
from branch_hub.lobby.visits import Visit, VisitStore
from branch_hub.outbox import Outbox
from branch_hub.queue import Actor, EventKind, QueueEvent, Ticket, TicketState
from branch_hub.queue._tables import SCHEMA, write_events
from branch_hub.reports import LeadFacts

__all__ = ["PROFILE", "MonthShape", "write_month"]

ZONE = ZoneInfo("Asia/Shanghai")
# share of the peak hour's arrivals in each opening hour, 09:00 to 17:00
PROFILE = (0.5, 1.0, 0.85, 0.6, 0.65, 0.85, 0.75, 0.4)
SERVICES = (("cash", 0.5), ("account", 0.25), ("wealth", 0.15), ("loan", 0.1))
TIERS = (("mass", 0.6), ("basic", 0.25), ("wealth", 0.12), ("private", 0.03))
READS = (("chip", 0.3), ("stripe", 0.2), ("passbook", 0.1), ("id_number", 0.1), (None, 0.3))
OUTCOMES = ("accepted", "declined", "follow_up", "not_suitable")
LEAD_TYPES = ("large_cd", "wealth_fixed", "fund", "insurance", "credit_card")
COUNTERS = [f"C{n:02d}" for n in range(1, 21)]
VIEWS_SCHEMA = """
CREATE TABLE IF NOT EXISTS product_views (
    view_id TEXT PRIMARY KEY, day TEXT NOT NULL, at TEXT NOT NULL, staff_id TEXT NOT NULL,
    product_code TEXT NOT NULL, mode TEXT NOT NULL, visit_id TEXT
);
CREATE INDEX IF NOT EXISTS product_views_day ON product_views (day, staff_id, product_code);
"""


@dataclass(frozen=True)
class MonthShape:
    """How busy and how long."""

    peak: int = 300
    days: int = 26
    service_mean_s: float = 210.0
    seed: int = 7


def _pick(rng: random.Random, table: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def _arrivals(rng: random.Random, day: date, peak: int) -> list[datetime]:
    out = []
    for hour, share in enumerate(PROFILE):
        start = datetime.combine(day, time(9 + hour), tzinfo=ZONE)
        out += [start + timedelta(seconds=rng.uniform(0, 3600)) for _ in range(round(peak * share))]
    return sorted(out)


def _day_events(
    rng: random.Random, day: date, shape: MonthShape
) -> tuple[list[QueueEvent], list[Visit]]:
    free = dict.fromkeys(COUNTERS, datetime.combine(day, time(9), tzinfo=ZONE))
    events: list[tuple[datetime, int, QueueEvent]] = []
    visits = []
    for n, at in enumerate(_arrivals(rng, day, shape.peak), start=1):
        visit_id = f"{rng.getrandbits(64):016x}"
        ticket = Ticket(
            f"{day:%Y%m%d}-A{n:04d}",
            f"A{n:04d}",
            day,
            (_pick(rng, SERVICES),),
            0,
            False,
            False,
            visit_id,
            TicketState.WAITING,
            at,
            at,
            n,
        )
        read = _pick(rng, READS)
        visits.append(
            Visit(
                visit_id,
                day.isoformat(),
                ticket.id,
                "K1",
                at.isoformat(),
                read is None,
                None if read is None else f"C{n:010d}",
                None if read is None else _pick(rng, TIERS),
                False,
                read,
            )
        )
        events.append((at, 0, _event(EventKind.TICKET_ISSUED, at, ticket, None)))
        counter = min(COUNTERS, key=lambda c: free[c])
        start = max(at, free[counter])
        staff = Actor(f"S-{counter}", f"COU-{counter}")
        called = replace(ticket, state=TicketState.CALLED, counter_id=counter, called_at=start)
        events.append((start, 1, _event(EventKind.CALLED, start, called, staff, counter)))
        if rng.random() < 0.03:
            end = start + timedelta(seconds=60)
            gone = replace(called, state=TicketState.NO_SHOW, no_show_at=end)
            events.append((end, 2, _event(EventKind.NO_SHOW, end, gone, staff, counter)))
        else:
            end = start + timedelta(seconds=rng.expovariate(1 / shape.service_mean_s))
            done = replace(called, state=TicketState.FINISHED, closed_at=end)
            detail = {
                "service": ticket.service,
                "service_s": round((end - start).total_seconds(), 3),
            }
            events.append((end, 2, _event(EventKind.FINISHED, end, done, staff, counter, detail)))
        free[counter] = end
    events.sort(key=lambda e: (e[0], e[1]))
    return [e for _, _, e in events], visits


def _event(
    kind: EventKind,
    at: datetime,
    ticket: Ticket,
    actor: Actor | None,
    counter: str | None = None,
    detail: dict[str, Any] | None = None,
) -> QueueEvent:
    return QueueEvent(kind, at, ticket.day, ticket, actor, counter, detail or {})


def _staff_work(
    rng: random.Random,
    outbox: Outbox,
    db: Any,
    visits: list[Visit],
    leads: dict[tuple[str, str], LeadFacts],
) -> None:
    for visit in visits:
        if visit.customer_id is None or rng.random() > 0.2:
            continue
        staff, at = f"S-C{rng.randint(1, 20):02d}", datetime.fromisoformat(visit.arrived_at)
        when = (at + timedelta(minutes=5)).astimezone(UTC).isoformat()
        lead_id = f"L{visit.customer_id[1:]}0"
        leads[(visit.customer_id, lead_id)] = LeadFacts(
            rng.choice(LEAD_TYPES), (f"WM2026A{rng.randint(1, 40):04d}",)
        )
        outcome = rng.choice(OUTCOMES)
        payload = {
            "customer_id": visit.customer_id,
            "lead_id": lead_id,
            "outcome": outcome,
            "staff_id": staff,
            "at": when,
            "reason": "rate_unattractive" if outcome == "declined" else None,
        }
        outbox.enqueue("lead_outcome", payload, f"outcome:{visit.visit_id}:{lead_id}")
        db.execute(
            "INSERT INTO product_views VALUES (?, ?, ?, ?, ?, 'presented', ?)",
            (
                f"{rng.getrandbits(128):032x}",
                visit.day,
                when,
                staff,
                leads[(visit.customer_id, lead_id)].product_codes[0],
                visit.visit_id,
            ),
        )
        if rng.random() < 0.15:
            base = {"customer_id": visit.customer_id, "staff_id": staff, "at": when}
            outbox.enqueue(
                "handoff",
                base | {"to_role": "wealth_manager"},
                f"handoff:{visit.visit_id}:{staff}:wealth_manager",
            )
            if rng.random() < 0.8:
                taken = (at + timedelta(minutes=7)).astimezone(UTC).isoformat()
                accept = {
                    "customer_id": visit.customer_id,
                    "staff_id": "S-RM",
                    "at": taken,
                    "by_staff_id": staff,
                }
                outbox.enqueue("handoff_accepted", accept, f"accept:{visit.visit_id}:S-RM")


def write_month(
    db: HubDatabase, visits: VisitStore, outbox: Outbox, first: date, shape: MonthShape
) -> dict[tuple[str, str], LeadFacts]:
    """Write `shape.days` business days (Mondays to Saturdays) from `first`; return lead facts."""
    db.create(SCHEMA + VIEWS_SCHEMA)
    rng = random.Random(shape.seed)
    leads: dict[tuple[str, str], LeadFacts] = {}
    day, written = first, 0
    while written < shape.days:
        if day.weekday() < 6:
            events, day_visits = _day_events(rng, day, shape)
            with db.transaction() as conn:
                write_events(conn, tuple(events))
                for visit in day_visits:
                    visits.add(visit)
                _staff_work(rng, outbox, conn, day_visits, leads)
            written += 1
        day += timedelta(1)
    return leads
