"""Synthetic product catalogue and knowledge base: realistic Chinese text, deterministic for a seed.

Products span the eight categories with a bank-like mix and R1-R5 spread (deposits R1, equity
funds up to R5), each with selling points, the disclaimer its category must show, validity
dates (some expired, as in a real catalogue), a small real PNG and often a real PDF leaflet.
Articles are FAQs (many about one product), branch procedures and fee rules.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sync.catalogue_assets import make_leaflet, make_picture
from sync.catalogue_model import SEGMENTS, TIERS, Article, Catalogue, Product
from sync.catalogue_synth_tables import (
    BASIS,
    CATEGORY_MIX,
    COMPANIES,
    DISCLAIMERS,
    FAQ_QUESTIONS,
    FEES,
    NAMES,
    POINTS,
    SENTENCES,
    STEPS,
    TERMS,
    THEMES,
    TOPICS,
)

__all__ = ["generate_catalogue"]

_CATEGORIES = list(CATEGORY_MIX)
_SHARES = [CATEGORY_MIX[c][1] for c in _CATEGORIES]
_RISKS = ("R1", "R2", "R3", "R4", "R5")
_SEGMENT_LEANING = {
    "pension": ("pension", "senior"),
    "loan": ("mortgage_holder", "business_owner"),
    "card": ("credit_card_active", "young_professional", "digital_active"),
    "forex": ("cross_border",),
    "wealth": ("high_net_worth", "payroll"),
    "fund": ("young_professional", "digital_active"),
    "insurance": ("family_with_children", "senior"),
    "deposit": ("senior", "dormant", "payroll"),
}


def generate_catalogue(products: int, articles: int, seed: int, as_of: date) -> Catalogue:
    """A realistic synthetic catalogue: `products` products, `articles` articles (deterministic)."""
    rng = random.Random(f"catalogue/{seed}")  # noqa: S311 - synthetic data, not secrets
    made: list[Product] = []
    assets: dict[str, bytes] = {}
    counters: dict[str, int] = {}
    for _ in range(products):
        category = rng.choices(_CATEGORIES, _SHARES)[0]
        counters[category] = counters.get(category, 0) + 1
        product = _product(rng, category, counters[category], as_of)
        made.append(product)
        if product.image:
            assets[product.image] = make_picture(rng.randrange(1 << 30), category)
        if product.leaflet:
            lines = [f"Product code: {product.code}", f"Risk level: {product.risk}"]
            assets[product.leaflet] = make_leaflet(product.name_en or product.code, lines)
    written = [_article(rng, n, made, as_of) for n in range(articles)]
    return Catalogue(tuple(made), tuple(written), assets)


def _fill(rng: random.Random, zh: str, en: str, n: int, as_of: date) -> tuple[str, str, int | None]:
    company, company_en = rng.choice(COMPANIES)
    theme, theme_en = rng.choice(THEMES)
    term_days, term = rng.choice(TERMS)
    values = {
        "y": str(as_of.year + rng.choice((0, 0, 5, 10, 15))),
        "n": str(n),
        "t": term,
        "c": company,
        "ce": company_en,
        "s": theme,
        "se": theme_en,
    }
    zh_name = zh.format(**values)
    en_name = en.format(**{**values, "t": f"{term_days} days"})
    return zh_name, en_name, term_days if "{t}" in zh else None


def _yield(rng: random.Random, category: str, risk: str) -> tuple[str, str | None]:
    level = _RISKS.index(risk)
    if category in {"card"}:
        return "none", None
    if category == "insurance":
        return ("rate", "2.50") if rng.random() < 0.5 else ("none", None)
    if category == "fund":
        return "nav", str(Decimal(rng.randrange(6000, 32000)) / 10000)
    if category in {"wealth", "pension"}:
        return "expected_annual", str(Decimal(rng.randrange(230, 420) + 40 * level) / 100)
    if category == "loan":
        return "rate", str(Decimal(rng.randrange(295, 420)) / 100)
    return "rate", str(Decimal(rng.randrange(90, 240)) / 100)


def _min_amount(rng: random.Random, category: str, risk: str) -> int:
    if category == "deposit":
        return rng.choice((50, 50, 1000, 200_000, 200_000, 300_000))
    if category in {"wealth", "pension"}:
        return rng.choice((1, 1000, 10_000, 10_000, 50_000, 1_000_000))
    if category == "fund":
        return rng.choice((1, 10, 100, 1000))
    if category == "loan":
        return rng.choice((1000, 10_000, 50_000))
    if category == "forex":
        return rng.choice((100, 5000, 50_000))
    if category == "insurance":
        return rng.choice((1000, 5000, 10_000, 100_000))
    return 0


def _tiers(min_amount: int, risk: str) -> list[str]:
    if min_amount >= 1_000_000 or risk == "R5":
        return ["wealth", "private"]
    if min_amount >= 200_000:
        return ["basic", "wealth", "private"]
    return list(TIERS)


def _product(rng: random.Random, category: str, n: int, as_of: date) -> Product:
    prefix, _, risk_weights = CATEGORY_MIX[category]
    zh, en = rng.choice(NAMES[category])
    name_zh, name_en, term_days = _fill(rng, zh, en, n, as_of)
    if term_days is None and category in {"wealth", "insurance"}:
        term_days = rng.choice((30, 90, 180, 365, 3650, 7300))
    risk = rng.choices(_RISKS, risk_weights)[0]
    yield_kind, yield_pct = _yield(rng, category, risk)
    min_amount = _min_amount(rng, category, risk)
    money = f"{min_amount}元" if min_amount < 10_000 else f"{min_amount // 10_000}万元"
    points = [
        p.format(m=money, p=yield_pct or "3.00")
        for p in rng.sample(list(POINTS[category]), rng.randint(3, min(5, len(POINTS[category]))))
    ]
    leaning = _SEGMENT_LEANING[category]
    segments = sorted(set(rng.sample(leaning, rng.randint(0, len(leaning)))))
    if rng.random() < 0.2:
        segments = sorted({*segments, rng.choice(SEGMENTS)})
    start = as_of - timedelta(days=rng.randrange(0, 400))
    end = start + timedelta(days=rng.randrange(60, 1500))
    code = f"{prefix}{as_of.year}{chr(65 + n // 10_000 % 26)}{n % 10_000:04d}"
    return Product(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        category=category,
        risk=risk,
        term_days=term_days,
        yield_kind=yield_kind,
        yield_pct=yield_pct,
        yield_basis_zh=BASIS[yield_kind].format(d=(as_of - timedelta(days=1)).isoformat()),
        min_amount_yuan=min_amount,
        tiers=tuple(_tiers(min_amount, risk)),
        segments=tuple(segments),
        selling_points_zh=tuple(points),
        disclaimer_zh=DISCLAIMERS[category],
        valid_from=start.isoformat(),
        valid_to=end.isoformat(),
        image=f"p-{code.lower()}.png" if rng.random() < 0.85 else None,
        leaflet=f"l-{code.lower()}.pdf" if rng.random() < 0.6 else None,
    )


def _paragraphs(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.sample(list(SENTENCES), rng.randint(lo, min(hi, len(SENTENCES)))))


def _article(rng: random.Random, n: int, products: list[Product], as_of: date) -> Article:
    roll = rng.random()
    updated = (as_of - timedelta(days=rng.randrange(0, 900))).isoformat()
    if roll < 0.5:
        return _faq(rng, n, products, updated)
    if roll < 0.8:
        topic, tag = rng.choice(TOPICS)
        steps = [STEPS[i] for i in sorted(rng.sample(range(len(STEPS)), rng.randint(3, 6)))]
        body = (
            f"适用范围：{topic}。\n"
            + "\n".join(f"第{i + 1}步：{s}。" for i, s in enumerate(steps))
            + "\n注意事项："
            + _paragraphs(rng, 2, 6)
        )
        return Article(
            f"KB-PRC-{n:06d}",
            "procedure",
            f"{topic}业务操作流程（{updated[:4]}版）",
            body,
            (tag, topic[:32], "操作流程"),
            (),
            updated,
        )
    item, rule = rng.choice(FEES)
    body = f"收费项目：{item}。\n收费标准：{rule}。\n" + _paragraphs(rng, 1, 4)
    body += "\n依据：《商业银行服务价格管理办法》及本行服务价目表。"
    return Article(
        f"KB-FEE-{n:06d}", "fee_rule", f"{item}收费标准", body, ("收费", item[:32]), (), updated
    )


def _faq(rng: random.Random, n: int, products: list[Product], updated: str) -> Article:
    if products and rng.random() < 0.6:
        product = rng.choice(products)
        subject = product.name_zh
        codes: tuple[str, ...] = (product.code,)
        tags: tuple[str, ...] = (product.category, product.risk)
        lead = f"{product.name_zh}（产品代码{product.code}）风险等级为{product.risk}。"
        lead += "、".join(product.selling_points_zh[:2]) + "。"
    else:
        subject, tag = rng.choice(TOPICS)
        codes, tags, lead = (), (tag, "常见问题"), ""
    question = rng.choice(FAQ_QUESTIONS).format(x=subject)
    body = f"问：{question}\n答：{lead}{_paragraphs(rng, 2, 7)}"
    return Article(f"KB-FAQ-{n:06d}", "faq", question[:160], body, tags, codes, updated)
