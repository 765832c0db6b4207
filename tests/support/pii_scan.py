"""Search files and log text for customers' names, ID numbers and PANs in several encodings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "gb18030")


def needles(customers: Iterable[dict[str, Any]]) -> list[str]:
    """The identifying strings of synthetic customers: names, ID numbers, card numbers."""
    found: list[str] = []
    for c in customers:
        found += [c["name"], c["id_number"]]
        found += [card["pan"] for card in c.get("cards", [])]
    return found


def card_needles(customers: Iterable[dict[str, Any]]) -> list[str]:
    """The card fields' codes of synthetic customers: products held, benefits, attrition reason.

    None names a person, but each is customer data that must stay sealed: not in logs, not in
    push events, not on a tablet's disk.
    """
    found: set[str] = set()
    for c in customers:
        for held in (c.get("products") or {}).values():
            found.update(held)
        found.update(c.get("benefits") or [])
        reason = (c.get("attrition_risk") or {}).get("reason")
        if reason:
            found.add(reason)
    return sorted(found)


def scan_bytes(data: bytes, words: Iterable[str]) -> list[tuple[str, str]]:
    """Return (word, encoding) for every word found in data."""
    hits = []
    for word in words:
        for encoding in ENCODINGS:
            if word.encode(encoding) in data:
                hits.append((word, encoding))
    return hits


def scan_tree(folder: Path, words: Iterable[str]) -> list[tuple[str, str, str]]:
    """Return (file, word, encoding) for every word found in any file under folder."""
    words = list(words)
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for word, encoding in scan_bytes(path.read_bytes(), words):
            hits.append((str(path), word, encoding))
    return hits
