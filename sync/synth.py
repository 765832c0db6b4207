"""Synthetic HQ customer export: realistic, deterministic for a seed, never a real person.

The export is HQ's interface to the branch (one JSON object per line); the schema is
documented in docs/hq-interface.md. Customers are generated in fixed-size blocks, each
from its own seeded generator, so the output is identical whatever the number of worker
processes.
"""

from __future__ import annotations

import bisect
import math
import os
import random
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import orjson
from tqdm import tqdm

from branch_common.identifiers import gb11643_check_char, luhn_check_digit
from sync.synth_appointments import add_appointment
from sync.synth_card import card_fields
from sync.synth_history import lead_declines
from sync.synth_products import CatalogueRef, add_product_codes, on_sale_by_category
from sync.synth_tables import (
    BINS,
    GIVEN_F,
    GIVEN_M,
    LEAD_COUNTS,
    LEAD_CUM,
    PHONE_PREFIXES,
    PRODUCTS,
    REGIONS,
    SCORE_CUM,
    SCORES,
    SEGMENTS,
    SURNAMES,
)

__all__ = ["SynthOptions", "TierThreshold", "generate", "write_export_file"]

T = TypeVar("T")
BLOCK = 5_000  # customers per independently seeded block


@dataclass(frozen=True)
class TierThreshold:
    """A tier code and the lowest AUM (CNY) that earns it."""

    code: str
    min_aum_cny: int


def _default_thresholds() -> tuple[TierThreshold, ...]:
    return (
        TierThreshold("mass", 0),
        TierThreshold("basic", 50_000),
        TierThreshold("wealth", 500_000),
        TierThreshold("private", 6_000_000),
    )


@dataclass(frozen=True)
class SynthOptions:
    """What to generate."""

    customers: int
    seed: int = 1
    region_code: str = "110105"
    as_of: date = field(default_factory=date.today)
    tiers: tuple[TierThreshold, ...] = field(default_factory=_default_thresholds)
    local_share: float = 0.72  # customers born in the branch's own district or province
    catalogue: tuple[CatalogueRef, ...] = ()  # given: leads name 1-3 of its products on sale
    appointments_on: date | None = None  # given: a share of customers booked on that day
    appointment_share: float = 0.05


_SURNAME_POP = [s for s, _ in SURNAMES]
_SURNAME_CUM: list[int] = []
_acc = 0
for _, _w in SURNAMES:
    _acc += _w
    _SURNAME_CUM.append(_acc)


# Fast draws: random.Random's choice/choices/randrange cost ~1-3 µs each in pure Python,
# which dominated a 1M-customer export; these take one random() call each.
def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _weighted(rng: random.Random, population: Sequence[T], cum: Sequence[int]) -> T:
    return population[bisect.bisect(cum, rng.random() * cum[-1])]


def _digits(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(64) % 10**n:0{n}d}"


def _name(rng: random.Random, gender: str) -> str:
    family = _weighted(rng, _SURNAME_POP, _SURNAME_CUM)
    pool = GIVEN_M if gender == "M" else GIVEN_F
    if rng.random() < 0.3:
        return family + _pick(rng, pool)
    return family + _pick(rng, pool) + _pick(rng, pool)


def _birth(rng: random.Random, as_of: date) -> date:
    age_days = int(rng.triangular(18, 88, 40) * 365.25)
    return as_of - timedelta(days=age_days)


def _id_number(rng: random.Random, region: str, birth_iso: str, gender: str) -> str:
    # GB 11643: the 17th digit is odd for men, even for women.
    seq = _below(rng, 100) * 10 + _below(rng, 5) * 2 + (1 if gender == "M" else 0)
    first17 = f"{region}{birth_iso[:4]}{birth_iso[5:7]}{birth_iso[8:]}{seq:03d}"
    return first17 + gb11643_check_char(first17)


def _pan(rng: random.Random) -> tuple[str, str]:
    bin_, length, kind = _pick(rng, BINS)
    body = bin_ + _digits(rng, length - len(bin_) - 1)
    return body + luhn_check_digit(body), kind


def _sample(rng: random.Random, seq: Sequence[Any], k: int) -> list[Any]:
    if k == 0:
        return []
    if k == 1:
        return [_pick(rng, seq)]
    return rng.sample(seq, k)


@dataclass(frozen=True)
class _Plan:
    """Per-export lookups computed once, not per customer."""

    opts: SynthOptions
    same_province: tuple[str, ...]
    other_provinces: tuple[str, ...]
    tiers: tuple[TierThreshold, ...]  # ascending by threshold

    @classmethod
    def of(cls, opts: SynthOptions) -> _Plan:
        prov = opts.region_code[:2]
        return cls(
            opts=opts,
            same_province=tuple(c for c in REGIONS if c[:2] == prov) or (opts.region_code,),
            other_provinces=tuple(c for c in REGIONS if c[:2] != prov),
            tiers=tuple(sorted(opts.tiers, key=lambda t: t.min_aum_cny)),
        )

    def region(self, rng: random.Random) -> str:
        r = rng.random()
        if r < self.opts.local_share * 0.8:
            return self.opts.region_code
        if r < self.opts.local_share:
            return _pick(rng, self.same_province)
        return _pick(rng, self.other_provinces)

    def tier(self, aum: float) -> tuple[str, int]:
        rank = 0
        for i, t in enumerate(self.tiers):
            if aum >= t.min_aum_cny:
                rank = i
        return self.tiers[rank].code, rank


def _cards(rng: random.Random, as_of: date) -> list[dict[str, str]]:
    cards = []
    for _ in range(_weighted(rng, (1, 2, 3), (60, 90, 100))):
        pan, kind = _pan(rng)
        months = as_of.year * 12 + as_of.month - 1 + 2 + _below(rng, 118)
        cards.append(
            {"pan": pan, "kind": kind, "expiry": f"{months // 12 % 100:02d}{months % 12 + 1:02d}"}
        )
    return cards


def _leads(rng: random.Random, index: int, rank: int, as_of: date) -> list[dict[str, Any]]:
    lead_count = _weighted(rng, LEAD_COUNTS, LEAD_CUM[min(rank, 3)])
    leads = []
    for n, (code, product, points) in enumerate(_sample(rng, PRODUCTS, lead_count)):
        leads.append(
            {
                "lead_id": f"L{index:010d}{n}",
                "product": product,
                "product_code": code,
                "score": _weighted(rng, SCORES, SCORE_CUM[min(rank, 3)]),
                "talking_points": _sample(rng, points, 2 + _below(rng, 2)),
                "expires": (as_of + timedelta(days=7 + _below(rng, 113))).isoformat(),
            }
        )
    return leads


def _segments(rng: random.Random, age: int, rank: int) -> list[str]:
    segments = set(_sample(rng, SEGMENTS, _below(rng, 3)))
    if age >= 60:
        segments.add("senior")
    if rank >= 2:
        segments.add("high_net_worth")
    if age < 35 and rng.random() < 0.5:
        segments.add("young_professional")
    return sorted(segments)


def _relationship(rng: random.Random, rank: int, as_of: date) -> tuple[str | None, str | None]:
    """The relationship manager (richer customers) and the last visit (most customers)."""
    if rank >= 2 or (rank == 1 and rng.random() < 0.3):
        rm: str | None = f"RM{1 + _below(rng, 59):04d}"
    else:
        rm = None
    if rng.random() < 0.08:
        return rm, None
    return rm, (as_of - timedelta(days=int(rng.expovariate(1 / 90)))).isoformat()


def _customer(rng: random.Random, index: int, plan: _Plan) -> dict[str, Any]:
    # Every draw below comes from `rng` in a fixed order: reordering them changes the export.
    opts = plan.opts
    gender = "M" if rng.random() < 0.5 else "F"
    birth = _birth(rng, opts.as_of)
    region = plan.region(rng)
    birth_iso = birth.isoformat()
    id_number = _id_number(rng, region, birth_iso, gender)
    # AUM: lognormal, median ~20k CNY; ~30 % above 50k, ~5 % above 500k, ~0.3 % above 6M.
    aum = round(math.exp(rng.gauss(math.log(20_000), 2.1)), 2)
    aum = min(aum, 2_000_000_000.0)
    tier, rank = plan.tier(aum)
    cards = _cards(rng, opts.as_of)
    passbooks = [
        {"account": _digits(rng, 17 if rng.random() < 0.5 else 19)}
        for _ in range(_weighted(rng, (0, 1, 2), (65, 95, 100)))
    ]
    leads = _leads(rng, index, rank, opts.as_of)
    segments = _segments(rng, (opts.as_of - birth).days // 365, rank)
    rm, last_visit = _relationship(rng, rank, opts.as_of)
    return {
        "customer_id": f"C{index:010d}",
        "name": _name(rng, gender),
        "gender": gender,
        "birth_date": birth_iso,
        "id_number": id_number,
        "region_code": region,
        "phone": _pick(rng, PHONE_PREFIXES) + _digits(rng, 8),
        "cards": cards,
        "passbooks": passbooks,
        "tier": tier,
        "aum": aum,
        "segments": segments,
        "leads": leads,
        "relationship_manager": rm,
        "last_visit": last_visit,
    }


def _block(args: tuple[int, SynthOptions]) -> bytes:
    block, opts = args
    rng = random.Random(f"branch-edge/{opts.seed}/{block}")  # noqa: S311 (synthetic data, not secrets)
    start = block * BLOCK
    stop = min(start + BLOCK, opts.customers)
    card_rng = random.Random(f"branch-edge/{opts.seed}/{block}/card")  # noqa: S311 (synthetic)
    history_rng = random.Random(f"branch-edge/{opts.seed}/{block}/declines")  # noqa: S311
    plan = _Plan.of(opts)
    product_rng = random.Random(f"branch-edge/{opts.seed}/{block}/products")  # noqa: S311
    on_sale = on_sale_by_category(opts.catalogue, opts.as_of)
    booking_rng = random.Random(f"branch-edge/{opts.seed}/{block}/appointments")  # noqa: S311
    lines = []
    for i in range(start, stop):
        customer = _customer(rng, i, plan)
        rank = plan.tier(customer["aum"])[1]
        customer |= card_fields(card_rng, customer["aum"], rank, customer["cards"], opts.as_of)
        customer["lead_declines"] = lead_declines(history_rng, customer["leads"], opts.as_of)
        if on_sale:
            add_product_codes(product_rng, customer, on_sale)
        if opts.appointments_on is not None:
            day, share = opts.appointments_on, opts.appointment_share
            add_appointment(booking_rng, customer, opts.seed, day, share)
        # orjson: byte-identical to json.dumps(ensure_ascii=False, compact) and ~6x faster.
        lines.append(orjson.dumps(customer) + b"\n")
    return b"".join(lines)


def _block_to_file(args: tuple[int, SynthOptions, str]) -> tuple[int, str]:
    """Write one block to its own file (workers hand back a path, not 700 kB of text)."""
    block, opts, folder = args
    path = os.path.join(folder, f"block-{block:06d}.jsonl")
    with open(path, "wb") as fh:
        fh.write(_block((block, opts)))
    return block, path


def generate(opts: SynthOptions) -> Iterator[dict[str, Any]]:
    """Yield customers one by one in a single process (for tests and small exports)."""
    for block in range((opts.customers + BLOCK - 1) // BLOCK):
        for line in _block((block, opts)).splitlines():
            yield orjson.loads(line)


def write_export_file(
    opts: SynthOptions, path: Path, workers: int | None = None, progress: bool | None = None
) -> int:
    """Write the export as JSONL atomically, in parallel blocks, with a progress bar on a terminal."""
    blocks = (opts.customers + BLOCK - 1) // BLOCK
    workers = workers or min(4, os.cpu_count() or 1)
    tmp = path.with_name(path.name + ".part")
    bar = tqdm(
        total=opts.customers,
        unit="cust",
        unit_scale=True,
        desc="synth",
        disable=None if progress is None else not progress,
    )
    written = 0
    with (
        bar,
        tmp.open("wb") as out,
        tempfile.TemporaryDirectory(dir=path.parent, prefix=".synth-") as work,
    ):
        jobs = [(b, opts, work) for b in range(blocks)]
        if workers <= 1 or blocks <= 1:
            done: Iterator[tuple[int, str]] = map(_block_to_file, jobs)
            _concatenate(done, out, bar, opts)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                _concatenate(pool.map(_block_to_file, jobs), out, bar, opts)
        written = opts.customers
    tmp.replace(path)
    return written


def _concatenate(
    done: Iterator[tuple[int, str]], out: BinaryIO, bar: tqdm[Any], opts: SynthOptions
) -> None:
    for block, block_path in done:  # pool.map keeps block order, so the file is deterministic
        with open(block_path, "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)
        os.unlink(block_path)
        bar.update(min(BLOCK, opts.customers - block * BLOCK))
