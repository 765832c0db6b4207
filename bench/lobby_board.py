"""The lobby board's periodic check: one read of the queue, today's sealed visits and the priority
visits' claims, and the tally, against the lobby list's read of the same database.

`python -m bench.lobby_board [--visits N] [--rounds R]`; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.config import parse_config
from branch_hub.database import HubDatabase
from branch_hub.lobby import Lobby
from branch_hub.lobby.board_watch import BoardReader
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.visits import Visit, VisitStore
from branch_hub.queue import Actor, QueueStore

TIERS = ("mass", "basic", "wealth", "private", None)


@dataclass
class _Lobby:
    """What the board reads of the lobby: the queue, the visits, the claims and the time zone."""

    queue: QueueStore
    visits: VisitStore
    briefing: Briefing
    zone: ZoneInfo
    device_conditions: dict[tuple[str, str], str]


def clock() -> datetime:
    """The bench's clock: now."""
    return datetime.now(UTC)


def _ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _fill(lobby: _Lobby, visits: int, day: str) -> None:
    kiosk = Actor(None, "K1")
    for i in range(visits):
        tier = TIERS[i % len(TIERS)]
        visit_id = f"{i:016x}"
        ticket = lobby.queue.issue("cash", kiosk, tier=tier, visit_ref=visit_id).ticket
        if ticket is None:
            raise SystemExit("the queue issued no ticket")
        priority = tier in ("wealth", "private")
        lobby.visits.add(
            Visit(visit_id, day, ticket.id, "K1", ticket.issued_at.isoformat(), tier is None,
                  None if tier is None else f"C{i:010d}", tier, priority, None)
        )  # fmt: skip
        if priority and i % 2:
            lobby.briefing.notes.claim(visit_id, staff_id="S-LOBBY", role="lobby_manager")


def _list_read(lobby: _Lobby, day: str) -> int:
    """The baseline: what the lobby list reads (tickets, today's visits, every visit's claim)."""
    tickets = {t.id: t for t in lobby.queue.tickets()}
    rows = [(v, tickets.get(v.ticket_id)) for v in lobby.visits.of_day(day)]
    return sum(1 for v, _ in rows if lobby.briefing.claimed_by(v.visit_id))


def main() -> None:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog="python -m bench.lobby_board")
    p.add_argument("--visits", type=int, default=300, help="today's arrivals, all still waiting")
    p.add_argument("--rounds", type=int, default=50)
    args = p.parse_args()
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    config = parse_config(tomllib.loads(raw))
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        cipher = AtRestCipher(load_or_create_key(tmp / "atrest.key"))
        db = HubDatabase(tmp / "hub.db")
        zone = ZoneInfo(config.branch.timezone)
        lobby = _Lobby(
            QueueStore(db, config, clock),
            VisitStore(db, cipher),
            Briefing(config, db, cipher),
            zone,
            {},
        )
        _fill(lobby, args.visits, clock().astimezone(zone).date().isoformat())
        desk = BoardReader(config, cast(Lobby, lobby), clock)
        figures = desk.figures(desk.snapshot())
        check_ms = _ms(lambda: desk.figures(desk.snapshot()), args.rounds)
        day = clock().astimezone(zone).date().isoformat()
        list_ms = _ms(lambda: _list_read(lobby, day), args.rounds)
        db.close()
    print(
        json.dumps(
            {
                "visits": args.visits,
                "unclaimed": len(figures.unclaimed),
                "check_ms_p50": round(check_ms, 2),
                "lobby_list_ms_p50": round(list_ms, 2),
                "check_vs_lobby_list_ratio": round(check_ms / list_ms, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
