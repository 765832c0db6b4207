"""Outcomes to HQ exactly once: the durable outbox in the hub's database and its sender."""

from __future__ import annotations

from branch_hub.outbox._sender import (
    OutboxSender,
    load_or_create_signing_key,
    open_for_hub,
    sign_envelope,
)
from branch_hub.outbox._store import FIELDS, KINDS, Outbox, OutboxError, OutboxItem

__all__ = [
    "FIELDS",
    "KINDS",
    "Outbox",
    "OutboxError",
    "OutboxItem",
    "OutboxSender",
    "load_or_create_signing_key",
    "open_for_hub",
    "sign_envelope",
]
