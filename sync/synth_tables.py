"""Tables the synthetic HQ export draws from: names, birthplaces, card BINs, products, segments.

All public data or invented (no real person); weights are approximate.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

__all__ = [
    "BINS",
    "GIVEN_F",
    "GIVEN_M",
    "LEAD_COUNTS",
    "LEAD_CUM",
    "PHONE_PREFIXES",
    "PRODUCTS",
    "REGIONS",
    "SCORES",
    "SCORE_CUM",
    "SEGMENTS",
    "SURNAMES",
]

# Surnames roughly by frequency (Ministry of Public Security 2020 ranking; weights are approximate).
SURNAMES: Sequence[tuple[str, int]] = (
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
GIVEN_M = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志成文博文轩子豪宇航浩然俊杰"
)
GIVEN_F = "芳娜敏静丽艳娟霞秀英玲桂兰燕萍红梅琳雪婷颖倩洁晶佳欣怡雨涵梓涵可馨思彤诗琪紫萱晓慧"

# Real GB/T 2260 district codes (public administrative data) used as birthplaces.
REGIONS: Sequence[str] = (
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
BINS: Sequence[tuple[str, int, str]] = (
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
PHONE_PREFIXES = (
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

PRODUCTS: Sequence[tuple[str, str, Sequence[str]]] = (
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
SCORES = ("high", "mid", "low")
# Tags drawn at random; "senior", "high_net_worth" and "young_professional" follow from age and tier.
SEGMENTS = (
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
LEAD_COUNTS = (0, 1, 2, 3, 4, 5)
# Cumulative weights by tier rank (0 = lowest): richer customers carry more, better-scored leads.
LEAD_CUM = tuple(
    tuple(itertools.accumulate((35 - 8 * r, 25, 18, 10 + 3 * r, 7 + 3 * r, 5 + 2 * r)))
    for r in range(4)
)
SCORE_CUM = tuple(tuple(itertools.accumulate((20 + 5 * r, 45, 35 - 5 * r))) for r in range(4))
