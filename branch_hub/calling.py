"""Calling a ticket to a counter: the display event and its voice announcement."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from branch_hub.config import Counter
from branch_hub.push import PushEvent
from branch_hub.server import HubApp
from branch_hub.voice import VoiceCache, VoiceError, announcement

__all__ = ["announce_call"]

log = logging.getLogger("branch_hub.calling")


async def announce_call(
    hub: HubApp,
    *,
    ticket: str,
    service: str,
    counter: Counter,
    recalled: bool = False,
    extra: dict[str, Any] | None = None,
) -> PushEvent:
    """Synthesise the announcement (cached), then push the call to the display and tablets."""
    words = announcement(ticket, counter.number, counter.name_en or None)
    voice_id: str | None = None
    if hub.voice is not None and VoiceCache.available():
        try:
            await asyncio.get_running_loop().run_in_executor(None, hub.voice.render, words)
            voice_id = words.voice_id
        except VoiceError as exc:  # the call still goes out; the board shows it silently
            log.warning("voice announcement unavailable: %s", exc)
    data = {
        "ticket": ticket,
        "service": service,
        "counter_id": counter.id,
        "counter_number": counter.number,
        "counter_name_zh": counter.name_zh,
        "counter_name_en": counter.name_en or f"Counter {counter.number}",
        "voice_id": voice_id,
        "text_zh": words.zh,
        "text_en": words.en,
        **(extra or {}),
    }
    return await hub.emit("recalled" if recalled else "called", data)
