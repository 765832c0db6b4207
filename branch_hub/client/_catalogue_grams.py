"""Overlapping bigrams of Chinese (and any other) text, the tokens the catalogue index stores.

Chinese has no spaces and most words are two characters, so the index stores every pair of
neighbouring characters within a run of letters or digits, plus the run's last character alone.
A query term of n >= 2 characters is the phrase of its n-1 bigrams, which matches exactly where the
term occurs as a substring; a single character is a prefix query over the bigrams it starts.

Tokens reach SQLite as fixed-width hex (UTF-32, 8 digits per character), so its tokenizer sees only
[0-9a-f] words: nothing a user types can become FTS5 syntax, and no tokenizer rule (case folding,
diacritics, CJK categories) can split a term differently in the index and in the query.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["MAX_TERMS", "MAX_TERM_CHARS", "grams_of", "match_expression", "normalise", "terms_of"]

MAX_TERMS = 6  # more words than this in one search box narrow nothing useful
MAX_TERM_CHARS = 24
_RUN = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Full-width forms folded (ＷＭ -> wm), case folded: the form both index and query use."""
    return unicodedata.normalize("NFKC", text).casefold()


def _hex(chars: str) -> str:
    return chars.encode("utf-32-be").hex()


def _run_grams(run: str) -> list[str]:
    wide = _hex(run)  # one encode per run, then slices: building the index is mostly this
    grams = [wide[i : i + 16] for i in range(0, 8 * (len(run) - 1), 8)]
    grams.append(wide[-8:])
    return grams


def grams_of(*texts: str) -> str:
    """The token text of these fields for one FTS column: space-separated hex bigrams."""
    grams: list[str] = []
    for text in texts:
        for run in _RUN.findall(normalise(text)):
            grams.extend(_run_grams(run))
    return " ".join(grams)


def terms_of(query: str) -> list[str]:
    """The words of a search box: letter/digit runs, normalised, bounded in number and length."""
    seen: list[str] = []
    for run in _RUN.findall(normalise(query)):
        term = run[:MAX_TERM_CHARS]
        if term not in seen:
            seen.append(term)
    return seen[:MAX_TERMS]


def _term_expression(term: str) -> str:
    if len(term) == 1:
        return f"{_hex(term)}*"
    return '"' + " ".join(_hex(term[i : i + 2]) for i in range(len(term) - 1)) + '"'


def match_expression(terms: Iterable[str]) -> str:
    """An FTS5 MATCH expression requiring every term (as a substring) somewhere in the row."""
    return " AND ".join(_term_expression(term) for term in terms)
