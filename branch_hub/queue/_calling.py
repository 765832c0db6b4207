"""Which ticket a counter calls next: reserved, then due, then by the priority policy.

A pure decision over the heads of the counter's queues; the engine applies it. See
docs/queue.md, "Which ticket a counter calls".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from branch_hub.config import PriorityPolicy, QueuePolicy
from branch_hub.queue._model import Ticket

__all__ = ["CallMode", "Heads", "advance_cycle", "choose_next"]

Heads = tuple[Ticket | None, Ticket | None]
"""The head of one service's priority queue and of its ordinary queue (None when empty)."""


class CallMode(StrEnum):
    """Why a ticket was called (the `called` event's `detail.mode`)."""

    RESERVED = "reserved"
    DUE = "due"
    POLICY = "policy"


def _oldest(current: Ticket | None, candidate: Ticket | None) -> Ticket | None:
    if candidate is None:
        return current
    if current is None or candidate.entry_seq < current.entry_seq:
        return candidate
    return current


def choose_next(
    policy: QueuePolicy,
    cycle: int,
    reserved: Ticket | None,
    heads: Sequence[Heads],
    is_due: Callable[[Ticket], bool],
) -> tuple[Ticket, CallMode] | None:
    """Choose the next ticket for a counter from its reserved head and its services' heads.

    `cycle` is the counter's position in the weighted cycle; `is_due` says whether an ordinary
    head has reached the aging cap.
    """
    if reserved is not None:
        return reserved, CallMode.RESERVED
    best_p: Ticket | None = None
    best_o: Ticket | None = None
    due = False
    for head_p, head_o in heads:
        best_p = _oldest(best_p, head_p)
        best_o = _oldest(best_o, head_o)
        # charges only ever go to a prefix of a queue, so its head has the largest delay
        due = due or (head_o is not None and is_due(head_o))
    if due and best_o is not None:
        # a due ticket turns this call over to the ordinary class, oldest first as it would
        # be without priority customers (so it never jumps ahead of older ordinary tickets)
        return best_o, CallMode.DUE
    if policy.policy is PriorityPolicy.STRICT or cycle < policy.priority_weight:
        choice = best_p or best_o
    else:
        choice = best_o or best_p
    return (choice, CallMode.POLICY) if choice is not None else None


def advance_cycle(policy: QueuePolicy, cycle: int, mode: str) -> int:
    """Return the counter's next position in the weighted cycle after a call."""
    if mode != CallMode.POLICY:
        return cycle
    return (cycle + 1) % (policy.priority_weight + policy.ordinary_weight)
