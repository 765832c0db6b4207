"""A small deterministic catalogue of realistic Chinese text for the search bench.

STAND-IN: to be replaced by the synthetic catalogue generator in sync/ when it lands; it yields the
same keys (products and articles as plain mappings), so the bench then only swaps its import.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

__all__ = ["QUERY_WORDS", "articles", "products"]

# category -> (code prefix, name patterns, risks it spans)
_NAMES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "deposit": ("DP", ("{y}年第{n}期个人大额存单", "整存整取定期存款{t}", "智能通知存款{n}号",
                       "乡村振兴专享定期存款{n}期"), ("R1",)),
    "wealth": ("WM", ("稳健丰利{n}号固定收益类理财产品", "天天利现金管理类理财{n}号",
                      "季季红固收增强{n}期", "安享添益{t}持有期理财", "鑫悦稳进{n}号封闭式理财",
                      "绿色金融ESG主题理财{n}期"), ("R1", "R2", "R2", "R3", "R4")),
    "fund": ("FD", ("{c}{s}混合型证券投资基金A", "{c}{s}股票型证券投资基金C", "{c}货币市场基金",
                    "{c}纯债债券型基金{n}号", "{c}沪深300指数增强基金"),
             ("R1", "R2", "R3", "R4", "R5")),
    "insurance": ("IN", ("{c}人寿金福年年年金保险", "{c}尊享e生医疗保险{n}版",
                         "{c}鑫享终身寿险", "{c}少儿教育金保险"), ("R1", "R2", "R3")),
    "loan": ("LN", ("安居个人住房贷款", "快e贷个人消费贷款", "小微企业主经营贷{n}号"), ("R1",)),
    "card": ("CC", ("{s}主题信用卡白金卡", "青春卡{n}代信用卡", "借记卡{s}联名卡"), ("R1",)),
    "forex": ("FX", ("外汇宝个人实盘外汇买卖", "美元定期存款{t}", "港币结构性存款{n}期"),
              ("R1", "R2", "R3")),
    "pension": ("PS", ("个人养老金储蓄存款{t}", "颐享养老理财{n}号", "养老目标日期{y}基金"),
                ("R1", "R2", "R3")),
}  # fmt: skip
_MIX = {"deposit": 10, "wealth": 30, "fund": 30, "insurance": 10, "loan": 5, "card": 5,
        "forex": 5, "pension": 5}  # fmt: skip
_COMPANIES = ("华夏", "易方达", "南方", "嘉实", "广发", "博时", "富国", "汇添富", "平安", "国寿")
_THEMES = (
    "新能源",
    "消费升级",
    "医疗健康",
    "科技创新",
    "高端制造",
    "红利低波",
    "大湾区",
    "数字经济",
)
_TERMS = ((90, "3个月"), (180, "6个月"), (365, "1年"), (1095, "3年"), (1825, "5年"))
_POINTS = (
    "{m}起购，适合到期存款续作", "纳入存款保险保障范围，本金安全", "每日可申赎，T+1到账",
    "业绩比较基准{p}%，主投高等级债券", "支持每月定投，分散投资降低风险", "申购费率一折优惠",
    "保单现金价值稳定增长，锁定长期收益", "线上申请，最快当天放款", "随借随还，提前还款无违约金",
    "首年免年费，刷卡满6次免次年年费", "境外消费返现，免货币转换费", "留学、旅游购汇一站式办理",
    "享受个人所得税递延优惠", "可按月领取，补充养老收入", "由银行理财子公司专业团队管理",
    "可在手机银行随时查看净值", "到期自动转存，省心省力", "基金经理从业十年以上，长期业绩稳健",
)  # fmt: skip
_TOPICS = ("银行卡挂失补办", "密码重置", "跨行转账", "大额现金预约取款", "个人养老金账户开立",
           "外币兑换", "信用卡分期还款", "账户冻结与解冻", "代发工资签约", "手机银行开通",
           "存款证明开具", "理财产品赎回", "基金定投设置", "房贷提前还款", "社保卡激活")  # fmt: skip
_QUESTIONS = ("{x}需要带什么材料？", "{x}多久可以办好？", "{x}可以在手机银行办理吗？",
              "{x}有哪些注意事项？", "{x}收费吗？", "为什么{x}失败了？")  # fmt: skip
_SENTENCES = (
    "客户须本人持有效身份证件原件到网点办理。", "如委托他人代办，须同时提供双方身份证件及授权委托书。",
    "办理时间为工作日营业时间，节假日以网点公告为准。", "资金一般于T+1个工作日到账，节假日顺延。",
    "手机银行及网上银行可全天候办理，部分业务需在营业时间内提交。", "柜面办理须填写业务申请书并签字确认。",
    "单笔金额超过5万元的现金业务须提前一天预约。", "理财非存款，产品有风险，投资须谨慎。",
    "购买理财产品前须完成风险承受能力评估，评估结果有效期为一年。", "基金的过往业绩并不预示其未来表现。",
    "提前支取按支取日挂牌活期利率计息。", "跨行转账手续费以本行服务价目表为准，手机银行渠道免收。",
    "挂失后七日内可凭身份证件办理补卡，补卡工本费10元。", "密码连续输错三次将被锁定，次日自动解锁。",
    "个人养老金账户每年缴存上限为12000元。", "外币现钞兑换须遵守国家外汇管理规定，年度便利化额度为等值5万美元。",
    "贷款审批结果以银行最终审核为准。", "信用卡分期手续费按期收取，提前还款不退已收手续费。",
    "如有疑问，请拨打客服热线或咨询网点大堂经理。", "老年客户可申请爱心窗口优先办理。",
    "业务办理完成后请妥善保管回单及凭证。", "请勿向任何人透露短信验证码及交易密码。",
)  # fmt: skip
_FEES = ("跨行转账", "同城汇款", "异地存取款", "账户管理费", "短信通知服务", "存款证明开具",
         "银行卡补卡", "本票签发", "对公结算账户维护")  # fmt: skip

# What staff type: partial names, short words, phrases (the bench adds codes and filters).
QUERY_WORDS: dict[int, tuple[str, ...]] = {
    1: ("金", "险", "贷", "卡", "汇", "债", "盈", "利"),
    2: ("理财", "存单", "基金", "赎回", "养老", "定投", "挂失", "转账", "年费", "保险", "净值", "外汇"),
    3: ("手续费", "信用卡", "季季红", "大额存", "新能源", "现金管", "易方达", "身份证"),
    4: ("固定收益", "指数增强", "提前支取", "风险评估", "年金保险", "消费贷款", "存款保险",
        "现金管理类理财", "个人养老金账户"),
}  # fmt: skip


def _name(rng: random.Random, pattern: str, n: int, as_of: date) -> tuple[str, int | None]:
    days, term = rng.choice(_TERMS)
    text = pattern.format(y=as_of.year, n=n, t=f"（{term}）", c=rng.choice(_COMPANIES),
                          s=rng.choice(_THEMES))  # fmt: skip
    return text, days if "{t}" in pattern else None


def _product(rng: random.Random, category: str, n: int, as_of: date) -> dict[str, Any]:
    prefix, patterns, risks = _NAMES[category]
    name_zh, term_days = _name(rng, rng.choice(patterns), n, as_of)
    yield_pct = f"{rng.randrange(150, 480) / 100:.2f}"
    amount = rng.choice((1, 1000, 10_000, 50_000, 200_000))
    money = f"{amount}元" if amount < 10_000 else f"{amount // 10_000}万元"
    start = as_of - timedelta(days=rng.randrange(0, 400))
    return {
        "code": f"{prefix}{as_of.year}{n:05d}", "name_zh": name_zh, "name_en": f"{category} {n}",
        "category": category, "risk": rng.choice(risks), "term_days": term_days,
        "yield_kind": "expected_annual", "yield_pct": yield_pct, "yield_basis_zh": "业绩比较基准",
        "min_amount_yuan": amount, "tiers": [], "segments": [],
        "selling_points_zh": [p.format(m=money, p=yield_pct) for p in rng.sample(_POINTS, 4)],
        "disclaimer_zh": "理财非存款，产品有风险，投资须谨慎。", "valid_from": start.isoformat(),
        "valid_to": (start + timedelta(days=rng.randrange(60, 1500))).isoformat(),
        "image": None, "leaflet": None,
    }  # fmt: skip


def products(count: int, seed: int, as_of: date) -> list[dict[str, Any]]:
    """`count` products across the eight categories, some already off sale."""
    rng = random.Random(f"catalogue-bench/{seed}")
    counters = dict.fromkeys(_MIX, 0)
    made = []
    for _ in range(count):
        category = rng.choices(list(_MIX), list(_MIX.values()))[0]
        counters[category] += 1
        made.append(_product(rng, category, counters[category], as_of))
    return made


def _article(rng: random.Random, n: int, made: list[dict[str, Any]], as_of: date) -> dict[str, Any]:
    updated = (as_of - timedelta(days=rng.randrange(0, 900))).isoformat()
    body = "".join(rng.sample(_SENTENCES, rng.randint(3, 9)))
    roll, codes, tags = rng.random(), list[str](), list[str]()
    if roll < 0.3 and made:
        product = rng.choice(made)
        kind, title = "faq", rng.choice(_QUESTIONS).format(x=f"购买{product['name_zh']}")
        codes, tags = [product["code"]], [product["category"], product["risk"]]
        body = (
            f"{product['name_zh']}（产品代码{product['code']}）风险等级为{product['risk']}。{body}"
        )
    elif roll < 0.6:
        topic = rng.choice(_TOPICS)
        kind, title, tags = "faq", rng.choice(_QUESTIONS).format(x=topic), [topic, "常见问题"]
    elif roll < 0.85:
        topic = rng.choice(_TOPICS)
        kind, title, tags = (
            "procedure",
            f"{topic}业务操作流程（{updated[:4]}版）",
            [topic, "操作流程"],
        )
    else:
        item = rng.choice(_FEES)
        kind, title, tags = "fee_rule", f"{item}收费标准", ["收费", item]
    return {"article_id": f"KB-{n:06d}", "kind": kind, "title_zh": title, "body_zh": body,
            "tags": tags, "product_codes": codes, "updated": updated}  # fmt: skip


def articles(
    count: int, seed: int, as_of: date, made: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`count` FAQs (some about one product), procedures and fee rules."""
    rng = random.Random(f"catalogue-bench-kb/{seed}")
    return [_article(rng, n, made, as_of) for n in range(count)]
