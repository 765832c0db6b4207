"""Every push event kind has a producer in the hub and a consumer on a device, as catalogued.

The catalogue (`branch_hub.vocabulary.EVENT_CATALOGUE`) says who sends each kind and who acts on
it; this test holds that against the code: a kind nothing sends, or nothing on a tablet, kiosk or
the lobby display reads, fails (the display page once waited for an event nothing sent).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from branch_hub.vocabulary import EVENT_CATALOGUE, PUBLIC_EVENT_KINDS, EventKind

ROOT = Path(__file__).resolve().parent.parent
PRODUCERS = [
    ROOT / "branch_hub" / "lobby",
    ROOT / "branch_hub" / "cache_sync.py",
    ROOT / "branch_hub" / "alerts.py",
]
CONSUMERS = [ROOT / "tablet", ROOT / "kiosk", ROOT / "branch_hub" / "web" / "app.js"]


def _text(places: list[Path]) -> str:
    files: list[Path] = []
    for place in places:
        files += sorted(place.rglob("*.py")) if place.is_dir() else [place]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def _mentions(text: str, kind: EventKind) -> bool:
    named = re.search(rf"\b(EventKind|PushKind)\.{kind.name}\b", text)
    return bool(named or re.search(rf"[\"']{kind.value}[\"']", text))


def test_the_catalogue_names_every_kind() -> None:
    assert set(EVENT_CATALOGUE) == set(EventKind)


@pytest.mark.parametrize("kind", list(EventKind), ids=str)
def test_every_kind_has_a_producer_and_a_consumer(kind: EventKind) -> None:
    assert _mentions(_text(PRODUCERS), kind), f"nothing in the hub sends {kind}"
    assert _mentions(_text(CONSUMERS), kind), f"no device acts on {kind}"


@pytest.mark.parametrize("kind", sorted(PUBLIC_EVENT_KINDS), ids=str)
def test_what_the_display_may_see_is_only_public(kind: EventKind) -> None:
    # The display's page is the only consumer of public kinds outside staff devices.
    assert kind not in {EventKind.ARRIVAL, EventKind.CLAIMED, EventKind.NOTE_ADDED}
