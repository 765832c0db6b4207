"""Search in Chinese over the tablet's catalogue index against a plain LIKE scan of the same rows.

python -m bench.catalogue_search [--products 5000] [--articles 20000] [--queries 400] [--seed 1]

Builds the index (branch_hub.client.catalogue_index) of a synthetic catalogue, then runs realistic
searches (1, 2, 3 and 4+ character Chinese words, two-word queries, product codes, half of them with
category or risk filters), each as the tablet does: products and articles. The baseline answers the
same searches with LIKE '%word%' over the same rows of the same file in the same run. An untimed
pass checks both return the same rows. The design not chosen, a trigram FTS5 table, is built and
timed too (MATCH for 3+ character words; shorter words can only scan). Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench import catalogue_text
from bench.catalogue_like import LikeSearch, TrigramSearch, build_trigram
from branch_hub.client._catalogue_grams import terms_of
from branch_hub.client.catalogue_index import build_index
from branch_hub.client.catalogue_search import CatalogueSearch
from sync.catalogue_synth import generate_catalogue

AS_OF = date(2026, 12, 3)
CATEGORIES = ("deposit", "wealth", "fund", "insurance", "loan", "card", "forex", "pension")


@dataclass(frozen=True)
class Search:
    """One search box entry with the filters the tablet would send."""

    text: str
    shape: str  # "1", "2", "3", "4+", "two_words", "code"
    categories: tuple[str, ...]
    max_risk: str | None
    kinds: tuple[str, ...]


def _text(rng: random.Random, shape: str, codes: list[str]) -> str:
    words = catalogue_text.QUERY_WORDS
    if shape == "code":
        code = rng.choice(codes)
        return code if rng.random() < 0.5 else code[-rng.randint(4, 7) :]
    if shape == "two_words":
        return f"{rng.choice(words[2] + words[3])} {rng.choice(words[2] + words[4])}"
    return rng.choice(words[4 if shape == "4+" else int(shape)])


def searches(count: int, seed: int, codes: list[str]) -> list[Search]:
    """A deterministic mix of what staff type, about half with filters."""
    rng = random.Random(f"catalogue-queries/{seed}")
    shapes = ["1"] * 15 + ["2"] * 25 + ["3"] * 20 + ["4+"] * 20 + ["two_words"] * 10 + ["code"] * 10
    made = []
    for _ in range(count):
        shape = rng.choice(shapes)
        filtered = rng.random() < 0.5
        made.append(
            Search(
                _text(rng, shape, codes),
                shape,
                tuple(rng.sample(CATEGORIES, rng.randint(1, 3))) if filtered else (),
                rng.choice(("R2", "R3", "R4")) if filtered and rng.random() < 0.6 else None,
                ("faq",) if filtered and rng.random() < 0.3 else (),
            )
        )
    return made


Runner = Callable[[Search, int], tuple[list[str], list[str]]]


def _runner(engine: CatalogueSearch | LikeSearch | TrigramSearch) -> Runner:
    def run(s: Search, limit: int) -> tuple[list[str], list[str]]:
        products = engine.products(s.text, AS_OF, s.categories, s.max_risk, limit)
        articles = engine.articles(s.text, s.kinds, None, limit)
        return [p.code for p in products], [a.article_id for a in articles]

    return run


def _timed(run: Runner, plan: list[Search]) -> list[float]:
    times = []
    for s in plan:
        start = time.perf_counter_ns()
        run(s, 20)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (q in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


def _mismatches(fts: Runner, like: Runner, plan: list[Search]) -> int:
    """Searches where the index and the scan disagree on the set of rows (all rows, no limit)."""
    wrong = 0
    for s in plan:
        a, b = fts(s, 1_000_000), like(s, 1_000_000)
        wrong += (set(a[0]), set(a[1])) != (set(b[0]), set(b[1]))
    return wrong


def _by_shape(plan: list[Search], times: list[float]) -> dict[str, float]:
    shapes: dict[str, list[float]] = {}
    for s, t in zip(plan, times, strict=True):
        shapes.setdefault(s.shape, []).append(t)
    return {f"fts_ms_p99_{k}": round(pct(v, 0.99), 3) for k, v in sorted(shapes.items())}


@dataclass
class Built:
    """The index files of one run and how long each took."""

    index: Path
    index_s: float
    trigram: Path
    trigram_s: float


def _build(folder: Path, products: list[dict[str, Any]], articles: list[dict[str, Any]]) -> Built:
    start = time.perf_counter()
    index = build_index(folder / "catalogue.sqlite", products, articles)
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    trigram = build_trigram(folder / "trigram.sqlite", index)
    return Built(index, index_s, trigram, time.perf_counter() - start)


def _trigram_figures(trigram: Runner, plan: list[Search]) -> dict[str, float]:
    long = [s for s in plan if all(len(t) >= 3 for t in terms_of(s.text))]
    short = [s for s in plan if s not in long]
    return {
        "trigram_ms_p99_3plus": round(pct(_timed(trigram, long), 0.99), 3),
        "trigram_ms_p99_short": round(pct(_timed(trigram, short), 0.99), 3),
    }


def run(products: int, articles: int, queries: int, seed: int, folder: Path) -> dict[str, Any]:
    """Build, search both ways, check agreement; the figures docs/performance.md quotes."""
    # HQ's synthetic catalogue, as the sync tools publish it (catalogue_text keeps the queries).
    catalogue = generate_catalogue(products, articles, seed, AS_OF)
    made = [p.to_dict() for p in catalogue.products]
    written = [a.to_dict() for a in catalogue.articles]
    built = _build(folder, made, written)
    plan = searches(queries, seed, [p["code"] for p in made])
    fts_engine, like_engine = CatalogueSearch(built.index), LikeSearch(built.index)
    trigram_engine = TrigramSearch(built.trigram)
    fts, like, trigram = _runner(fts_engine), _runner(like_engine), _runner(trigram_engine)
    _timed(fts, plan[:20]), _timed(like, plan[:20])  # warm the page cache for both
    fts_times, like_times = _timed(fts, plan), _timed(like, plan)
    figures = {
        "products": products,
        "articles": articles,
        "queries": queries,
        "build_s": round(built.index_s, 3),
        "index_mb": round(built.index.stat().st_size / 1e6, 2),
        "fts_ms_p50": round(pct(fts_times, 0.5), 3),
        "fts_ms_p99": round(pct(fts_times, 0.99), 3),
        "like_ms_p50": round(pct(like_times, 0.5), 3),
        "like_ms_p99": round(pct(like_times, 0.99), 3),
        "like_over_fts_p50": round(pct(like_times, 0.5) / pct(fts_times, 0.5), 1),
        "like_over_fts_p99": round(pct(like_times, 0.99) / pct(fts_times, 0.99), 1),
        **_by_shape(plan, fts_times),
        "trigram_build_s": round(built.trigram_s, 3),
        "trigram_mb": round(built.trigram.stat().st_size / 1e6, 2),
        **_trigram_figures(trigram, plan),
        "mismatches_vs_like": _mismatches(fts, like, plan[: min(len(plan), 150)]),
    }
    for engine in (fts_engine, like_engine, trigram_engine):
        engine.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the figures (last line JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="catalogue-bench-") as folder:
        figures = run(args.products, args.articles, args.queries, args.seed, Path(folder))
    for key, value in figures.items():
        print(f"{key:>24}: {value}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
