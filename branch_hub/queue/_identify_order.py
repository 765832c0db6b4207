"""Queue order helpers that stay right when an identified ticket joins the priority queue late."""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Mapping

from branch_hub.queue._model import Ticket

__all__ = ["insert_by_entry", "record_overtake"]


def insert_by_entry(
    queue: OrderedDict[str, None], tickets: Mapping[str, Ticket], ticket: Ticket
) -> None:
    """Put a ticket into a queue kept in entry order (an identified ticket keeps its old entry)."""
    queue[ticket.id] = None
    later = [tid for tid in queue if tickets[tid].entry_seq > ticket.entry_seq]
    for tid in later:  # O(n) only for the rare identified ticket; issues append at the end
        queue.move_to_end(tid)


def record_overtake(overtakes: list[int], sums: list[float], entry_seq: int, share: float) -> None:
    """Record a priority call's charge, keeping `overtakes` sorted and `sums` its prefix sums."""
    if not overtakes or entry_seq >= overtakes[-1]:
        overtakes.append(entry_seq)
        sums.append(sums[-1] + share)
        return
    at = bisect.bisect_right(overtakes, entry_seq)
    overtakes.insert(at, entry_seq)
    sums.insert(at + 1, sums[at] + share)
    for i in range(at + 2, len(sums)):
        sums[i] += share
