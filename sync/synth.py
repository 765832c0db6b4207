"""Synthetic HQ customer export: realistic, deterministic for a seed, never a real person.

The export is HQ's interface to the branch (one JSON object per line); the schema is
documented in docs/hq-interface.md. Customers are generated in fixed-size blocks, each
from its own seeded generator, so the output is identical whatever the number of worker
processes.
"""

from __future__ import annotations

import bisect
import itertools
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

__all__ = ["SynthOptions", "TierThreshold", "generate", "write_export_file"]

T = TypeVar("T")
BLOCK = 5_000  # customers per independently seeded block

# Surnames roughly by frequency (Ministry of Public Security 2020 ranking; weights are approximate).
_SURNAMES: Sequence[tuple[str, int]] = (
    ("王", 74),
    ("李", 72),
    ("张", 69),
    ("刘", 55),
    ("陈", 48),
    ("杨", 36),
    ("黄", 25),
    ("赵", 22),
    ("吴", 21),
    ("周", 21),
    ("徐", 16),
    ("孙", 15),
    ("马", 15),
    ("朱", 13),
    ("胡", 12),
    ("郭", 12),
    ("何", 12),
    ("林", 11),
    ("高", 11),
    ("罗", 11),
    ("郑", 10),
    ("梁", 10),
    ("谢", 8),
    ("宋", 8),
    ("唐", 7),
    ("许", 7),
    ("韩", 7),
    ("邓", 7),
    ("冯", 7),
    ("曹", 6),
    ("彭", 6),
    ("曾", 6),
    ("肖", 6),
    ("田", 6),
    ("董", 5),
    ("潘", 5),
    ("袁", 5),
    ("蔡", 5),
    ("蒋", 5),
    ("余", 5),
    ("于", 5),
    ("杜", 4),
    ("叶", 4),
    ("程", 4),
    ("魏", 4),
    ("苏", 4),
    ("吕", 4),
    ("丁", 4),
    ("任", 4),
    ("卢", 4),
    ("姚", 4),
    ("沈", 4),
    ("钟", 3),
    ("姜", 3),
    ("崔", 3),
    ("谭", 3),
    ("陆", 3),
    ("范", 3),
    ("汪", 3),
    ("廖", 3),
    ("石", 3),
    ("金", 3),
    ("韦", 3),
    ("贾", 3),
    ("夏", 3),
    ("付", 3),
    ("方", 3),
    ("邹", 2),
    ("熊", 2),
    ("白", 2),
    ("孟", 2),
    ("秦", 2),
    ("邱", 2),
    ("侯", 2),
    ("江", 2),
    ("尹", 2),
    ("薛", 2),
    ("欧阳", 1),
    ("司马", 1),
    ("上官", 1),
)
_GIVEN_M = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志成文博文轩子豪宇航浩然俊杰"
)
_GIVEN_F = "芳娜敏静丽艳娟霞秀英玲桂兰燕萍红梅琳雪婷颖倩洁晶佳欣怡雨涵梓涵可馨思彤诗琪紫萱晓慧"

# Real GB/T 2260 district codes (public administrative data) used as birthplaces.
_REGIONS: Sequence[str] = (
    "110101",
    "110102",
    "110105",
    "110106",
    "110108",
    "110114",
    "120101",
    "120104",
    "130102",
    "130203",
    "140105",
    "150102",
    "210102",
    "210202",
    "220102",
    "230102",
    "310101",
    "310104",
    "310115",
    "320102",
    "320505",
    "330106",
    "330203",
    "340104",
    "350102",
    "350203",
    "360102",
    "370102",
    "370202",
    "410105",
    "420106",
    "430104",
    "440106",
    "440304",
    "450103",
    "460106",
    "500103",
    "510104",
    "520102",
    "530102",
    "610113",
    "620102",
    "650102",
)
# UnionPay issuer BINs of large Chinese banks (public BIN tables), with PAN length.
_BINS: Sequence[tuple[str, int, str]] = (
    ("622202", 19, "debit"),
    ("621226", 19, "debit"),
    ("622848", 19, "debit"),
    ("621700", 19, "debit"),
    ("621661", 19, "debit"),
    ("622588", 16, "credit"),
    ("625965", 16, "credit"),
    ("622260", 19, "debit"),
    ("621483", 16, "debit"),
    ("628288", 16, "credit"),
    ("622150", 19, "debit"),
    ("623058", 19, "debit"),
    ("622609", 17, "debit"),
    ("621799", 18, "debit"),
)
_PHONE_PREFIXES = (
    "133",
    "135",
    "136",
    "138",
    "139",
    "150",
    "151",
    "158",
    "159",
    "177",
    "180",
    "186",
    "187",
    "188",
    "189",
    "199",
)

_PRODUCTS: Sequence[tuple[str, str, Sequence[str]]] = (
    (
        "large_cd",
        "大额存单",
        ("三年期利率高于同期定期存款", "20万元起存，可提前支取部分本金", "适合稳健型资金长期配置"),
    ),
    (
        "wealth_fixed",
        "稳健型理财产品",
        ("R2风险等级，过往业绩比较基准3%左右", "可按月申赎，流动性较好", "适合到期存款续作"),
    ),
    (
        "fund_sip",
        "基金定投",
        ("每月500元起投，分散入市时点", "可在手机银行随时调整或暂停", "适合为子女教育做长期积累"),
    ),
    (
        "pension_acct",
        "个人养老金账户",
        (
            "每年12000元额度内可税前扣除",
            "可投资养老理财、养老基金等",
            "退休后领取，适合有个税的客户",
        ),
    ),
    (
        "credit_card",
        "信用卡",
        ("新户首刷礼及境外消费返现", "最长56天免息期", "可绑定工资卡自动还款"),
    ),
    (
        "instalment",
        "信用卡分期",
        ("大额消费可分3至24期", "按月手续费率透明", "适合家装、教育等大额支出"),
    ),
    (
        "mortgage",
        "个人住房贷款",
        ("支持组合贷款与提前还款", "审批进度可在手机银行查询", "可预约客户经理上门面签"),
    ),
    (
        "insurance",
        "保险保障规划",
        ("重疾与医疗保障搭配", "可为父母配置专属医疗险", "保单年度检视服务"),
    ),
    ("fx", "外汇及跨境汇款", ("留学、旅游购汇额度说明", "跨境汇款手续费优惠", "可预约外币现钞")),
    ("gold", "积存金", ("1克起购，分散配置", "可按月定投", "可兑换实物金条")),
    ("payroll", "代发工资", ("为企业员工批量开卡", "员工享专属理财额度", "对公账户联动服务")),
    (
        "mobile_banking",
        "手机银行开通",
        ("转账汇款免手续费", "理财、缴费一站办理", "可绑定微信支付"),
    ),
)
_SCORES = ("high", "mid", "low")
# Tags drawn at random; "senior", "high_net_worth" and "young_professional" follow from age and tier.
_SEGMENTS = (
    "payroll",
    "pension",
    "business_owner",
    "mortgage_holder",
    "credit_card_active",
    "digital_active",
    "dormant",
    "family_with_children",
    "cross_border",
)
_LEAD_COUNTS = (0, 1, 2, 3, 4, 5)
# Cumulative weights by tier rank (0 = lowest): richer customers carry more, better-scored leads.
_LEAD_CUM = tuple(
    tuple(itertools.accumulate((35 - 8 * r, 25, 18, 10 + 3 * r, 7 + 3 * r, 5 + 2 * r)))
    for r in range(4)
)
_SCORE_CUM = tuple(tuple(itertools.accumulate((20 + 5 * r, 45, 35 - 5 * r))) for r in range(4))


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


_SURNAME_POP = [s for s, _ in _SURNAMES]
_SURNAME_CUM: list[int] = []
_acc = 0
for _, _w in _SURNAMES:
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
    pool = _GIVEN_M if gender == "M" else _GIVEN_F
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
    bin_, length, kind = _pick(rng, _BINS)
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
            same_province=tuple(c for c in _REGIONS if c[:2] == prov) or (opts.region_code,),
            other_provinces=tuple(c for c in _REGIONS if c[:2] != prov),
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


def _customer(rng: random.Random, index: int, plan: _Plan) -> dict[str, Any]:
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
    cards = []
    for _ in range(_weighted(rng, (1, 2, 3), (60, 90, 100))):
        pan, kind = _pan(rng)
        months = opts.as_of.year * 12 + opts.as_of.month - 1 + 2 + _below(rng, 118)
        cards.append(
            {"pan": pan, "kind": kind, "expiry": f"{months // 12 % 100:02d}{months % 12 + 1:02d}"}
        )
    passbooks = [
        {"account": _digits(rng, 17 if rng.random() < 0.5 else 19)}
        for _ in range(_weighted(rng, (0, 1, 2), (65, 95, 100)))
    ]
    lead_count = _weighted(rng, _LEAD_COUNTS, _LEAD_CUM[min(rank, 3)])
    leads = []
    for n, (code, product, points) in enumerate(_sample(rng, _PRODUCTS, lead_count)):
        leads.append(
            {
                "lead_id": f"L{index:010d}{n}",
                "product": product,
                "product_code": code,
                "score": _weighted(rng, _SCORES, _SCORE_CUM[min(rank, 3)]),
                "talking_points": _sample(rng, points, 2 + _below(rng, 2)),
                "expires": (opts.as_of + timedelta(days=7 + _below(rng, 113))).isoformat(),
            }
        )
    age = (opts.as_of - birth).days // 365
    segments = set(_sample(rng, _SEGMENTS, _below(rng, 3)))
    if age >= 60:
        segments.add("senior")
    if rank >= 2:
        segments.add("high_net_worth")
    if age < 35 and rng.random() < 0.5:
        segments.add("young_professional")
    if rank >= 2 or (rank == 1 and rng.random() < 0.3):
        rm: str | None = f"RM{1 + _below(rng, 59):04d}"
    else:
        rm = None
    if rng.random() < 0.08:
        last_visit: str | None = None
    else:
        last_visit = (opts.as_of - timedelta(days=int(rng.expovariate(1 / 90)))).isoformat()
    return {
        "customer_id": f"C{index:010d}",
        "name": _name(rng, gender),
        "gender": gender,
        "birth_date": birth_iso,
        "id_number": id_number,
        "region_code": region,
        "phone": _pick(rng, _PHONE_PREFIXES) + _digits(rng, 8),
        "cards": cards,
        "passbooks": passbooks,
        "tier": tier,
        "aum": aum,
        "segments": sorted(segments),
        "leads": leads,
        "relationship_manager": rm,
        "last_visit": last_visit,
    }


def _block(args: tuple[int, SynthOptions]) -> bytes:
    block, opts = args
    rng = random.Random(f"branch-edge/{opts.seed}/{block}")  # noqa: S311 (synthetic data, not secrets)
    start = block * BLOCK
    stop = min(start + BLOCK, opts.customers)
    plan = _Plan.of(opts)
    # orjson: byte-identical to json.dumps(ensure_ascii=False, compact) and ~6x faster.
    return b"".join([orjson.dumps(_customer(rng, i, plan)) + b"\n" for i in range(start, stop)])


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
