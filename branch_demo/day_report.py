"""The branch day's record and its reconciliation against the hub and HQ (no personal data)."""

from __future__ import annotations

import json
import statistics
from collections import Counter as Tally
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from branch_demo.site import COUNTERS

__all__ = ["DayOptions", "HubSeen", "Record", "report", "waits", "write_record"]

SERVES = {cid: set(services) for cid, _, services in COUNTERS}


@dataclass
class DayOptions:
    """The day's shape and its drills."""

    hours: float = 8.0
    speed: float = 60.0
    seed: int = 11
    customers: int = 5000
    stations: int = 4
    tablets: int = 20
    restarts: int = 3
    printer_fault_share: float = 0.05
    read_share: float = 0.7
    outage_min: float = 60.0
    delta: bool = True


@dataclass
class Record:
    """What the bench saw and did."""

    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> ticket + times
    duplicate_ticket_ids: int = 0
    ambiguous_ticket_posts: int = 0
    arrivals: int = 0
    reads: int = 0
    recognised: int = 0
    read_fallback_walk_in: int = 0
    reads_walk_in: int = 0  # reads of known customers that ended in a walk-in ticket
    lost: Tally[str] = field(default_factory=Tally)  # those by device, hub death and outcome
    kills: list[float] = field(default_factory=list)  # monotonic times of the kill -9s
    print_failed: int = 0
    printer_faults_injected: int = 0
    briefs_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    ticket_ms: list[float] = field(default_factory=list)
    kiosk_ms: list[float] = field(default_factory=list)
    outcomes: set[str] = field(default_factory=set)  # visit:lead acknowledged by the hub
    tablet_seen: list[set[int]] = field(default_factory=list)
    tablet_reconnects: int = 0
    called: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (real t, counter)
    finished: set[str] = field(default_factory=set)
    drills: list[dict[str, Any]] = field(default_factory=list)
    delta_customers: list[dict[str, Any]] = field(default_factory=list)
    delta_recognised: int = 0
    leads_naming_catalogue_products: int = 0  # offered in a brief with a product HQ publishes
    leads_not_suitable: int = 0  # every product the lead names is unsuitable for the customer
    errors: Tally[str] = field(default_factory=Tally)


@dataclass
class HubSeen:
    """What the hub and HQ hold at the end of the day."""

    tickets: dict[str, dict[str, Any]]
    numbers: Tally[str]
    priority: dict[str, bool]
    last_seq: int
    hq_counts: dict[str, int]
    hq_caught_up_s: float
    catalogue: dict[str, Any] | None = None  # GET /catalogue at the end, None: none applied

    @classmethod
    def of(
        cls, visits: dict[str, Any], last_seq: int, counts: dict[str, int], caught_up_s: float
    ) -> HubSeen:
        """Read today's visits as the hub lists them."""
        seen = cls({}, Tally(), {}, last_seq, counts, caught_up_s)
        for v in visits.get("visits", []):
            t = v["ticket"]
            seen.numbers[t["number"]] += 1
            seen.tickets[t["id"]] = t
            seen.priority[t["id"]] = bool(v.get("priority"))
        return seen


def _tickets(rec: Record, hub: HubSeen) -> dict[str, Any]:
    lost = [tid for tid in rec.tickets if tid not in hub.tickets]
    # Called at the hub, but no counter ever got the answer: a customer nobody serves.
    never_received = [
        tid for tid, t in hub.tickets.items() if t.get("called_at") and tid not in rec.called
    ]
    unacknowledged = [tid for tid in hub.tickets if tid not in rec.tickets]
    duplicated = rec.duplicate_ticket_ids + sum(n - 1 for n in hub.numbers.values() if n > 1)
    return {
        "arrivals": rec.arrivals,
        "tickets_issued": len(rec.tickets),
        "tickets_at_hub": len(hub.tickets),
        "tickets_lost": len(lost),
        "tickets_duplicated": duplicated,
        "tickets_issued_unacknowledged": len(unacknowledged),
        "ambiguous_ticket_posts": rec.ambiguous_ticket_posts,
        "tickets_finished": len(rec.finished),
        "tickets_called_never_received": len(never_received),
        "reads": rec.reads,
        "recognised": rec.recognised,
        "read_fallback_walk_in": rec.read_fallback_walk_in,
        "walk_ins_caused_by_restarts": rec.reads_walk_in,
        "walk_ins_by_cause": dict(sorted(rec.lost.items())),
        "printer_faults_injected": rec.printer_faults_injected,
        "tickets_print_failed": rec.print_failed,
    }


def lost_cause(
    kills: list[float], device: str, read_at: float, session_at: float, session: Any
) -> str:
    """Why a known customer's read ended as a walk-in: device/when the hub died/what came."""
    if session is None:
        came = "no_session"
    elif session.get("state") != "recognised":
        came = f"session_{session.get('state')}"
    else:
        came = "session_lost_before_ticket"
    after = [k for k in kills if k >= read_at - 3.0]  # a hub still coming back counts too
    if not after:
        died = "no_restart"
    elif after[0] < read_at:
        died = "hub_down_at_read"
    else:
        died = "died_before_session" if after[0] < session_at else "died_after_session"
    return f"{device}/{died}/{came}"


def _flow(rec: Record, hub: HubSeen) -> dict[str, Any]:
    missed = sum(len(set(range(1, hub.last_seq + 1)) - s) for s in rec.tablet_seen)
    counts = hub.hq_counts
    briefs = sorted(rec.briefs_ms)
    p99 = briefs[min(len(briefs) - 1, int(len(briefs) * 0.99))] if briefs else None
    return {
        "events_at_hub": hub.last_seq,
        "events_missed_by_tablets": missed,
        "tablets": len(rec.tablet_seen),
        "tablet_reconnects": rec.tablet_reconnects,
        "outcomes_created": len(rec.outcomes),
        "outcomes_received_at_hq": counts.get("lead_outcome", 0),
        "outcomes_duplicated_at_hq": counts.get("conflicts", 0),
        "outcome_redeliveries_deduplicated": counts.get("lead_outcome_deliveries", 0)
        - counts.get("lead_outcome", 0),
        "hq_caught_up_after_day_s": hub.hq_caught_up_s,
        "briefs": len(briefs),
        "brief_p50_ms": round(statistics.median(briefs), 1) if briefs else None,
        "brief_p99_ms": round(p99, 1) if p99 is not None else None,
        "kiosk_read_p50_ms": _p50(rec.read_ms),
        "ticket_post_p50_ms": _p50(rec.ticket_ms),
        "kiosk_customer_p50_ms": _p50(rec.kiosk_ms),
    }


def report(rec: Record, hours: float, speed: float, hub: HubSeen) -> dict[str, Any]:
    """The day's figures (the bench's JSON without the site's own)."""
    return {
        "bench": "branch_day",
        "hours": hours,
        "speed": speed,
        **_tickets(rec, hub),
        **_flow(rec, hub),
        **waits(rec, speed, hub.priority),
        "delta_customers_recognised": rec.delta_recognised,
        **_catalogue(rec, hub),
        "drills": rec.drills,
        "errors": dict(rec.errors),
    }


def _catalogue(rec: Record, hub: HubSeen) -> dict[str, Any]:
    applied = hub.catalogue or {}
    return {
        "catalogue_sequence": applied.get("sequence"),
        "catalogue_products": applied.get("products"),
        "leads_naming_catalogue_products": rec.leads_naming_catalogue_products,
        "leads_not_suitable": rec.leads_not_suitable,
    }


def waits(rec: Record, speed: float, priority: dict[str, bool]) -> dict[str, Any]:
    """Waits in simulated minutes; extra wait of ordinary customers behind priority calls."""
    scale = speed / 60.0
    rows = []
    for tid, t in rec.tickets.items():
        if tid in rec.called:
            called, cid = rec.called[tid]
            rows.append((t["issued_r"], called, cid, t, priority.get(tid, False)))
    errors = []
    inside = 0
    for issued, called, _, t, _ in rows:
        lo, hi = t.get("wait_min") or [0, 0]
        # The hub estimates in its own (real) whole minutes: convert back to simulated minutes
        # (so the estimate's resolution is `speed` simulated minutes).
        actual = (called - issued) * scale
        errors.append(abs((lo + hi) / 2 * speed - actual))
        inside += lo * speed <= actual <= hi * speed
    extra = 0.0
    by_service: dict[str, list[tuple[float, float]]] = {}
    for issued, called, _, t, prio in rows:
        if not prio:
            by_service.setdefault(t["service"], []).append((issued, called))
    prio_calls = [(called, cid) for _, called, cid, _, prio in rows if prio]
    for service, ordinary in by_service.items():
        ordinary.sort()
        prev_called = 0.0
        for issued, called in ordinary:
            head = max(issued, prev_called)
            if any(head <= c <= called and service in SERVES[cid] for c, cid in prio_calls):
                extra = max(extra, (called - head) * scale)
            prev_called = max(prev_called, called)
    waits = [(called - issued) * scale for issued, called, *_ in rows]
    return {
        "wait_mean_min": round(statistics.fmean(waits), 1) if waits else None,
        "wait_max_min": round(max(waits), 1) if waits else None,
        "max_extra_wait_ordinary_min": round(extra, 1),
        "wait_estimate_mae_min": round(statistics.fmean(errors), 1) if errors else None,
        "wait_estimate_in_range_share": round(inside / len(rows), 3) if rows else None,
        "wait_estimate_resolution_min": speed,
    }


def write_record(path: Path, rec: Record, t0: float) -> None:
    """Everything the bench did and saw, one JSON line per ticket (no personal data)."""
    with path.open("w", encoding="utf-8") as fh:
        for tid, t in rec.tickets.items():
            called = rec.called.get(tid)
            row = {
                "ticket_id": tid,
                "number": t["number"],
                "service": t["service"],
                "wait_min_estimate": t.get("wait_min"),
                "issued_s": round(t["issued_r"] - t0, 3),
                "called_s": round(called[0] - t0, 3) if called else None,
                "counter": called[1] if called else None,
                "finished": tid in rec.finished,
            }
            fh.write(json.dumps(row) + "\n")
        for drill in rec.drills:
            fh.write(json.dumps({"drill": drill}) + "\n")


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
