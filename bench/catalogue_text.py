"""What staff type into the catalogue's search box: Chinese words of 1, 2, 3 and 4+ characters.

The catalogue itself comes from HQ's synthetic generator (`sync.catalogue_synth`); these words are
common in its product names, selling points and knowledge articles.
"""

from __future__ import annotations

__all__ = ["QUERY_WORDS"]

QUERY_WORDS: dict[int, tuple[str, ...]] = {
    1: ("金", "险", "贷", "卡", "汇", "债", "盈", "利"),
    2: ("理财", "存单", "基金", "赎回", "养老", "定投", "挂失", "转账", "年费", "保险", "净值", "外汇"),
    3: ("手续费", "信用卡", "季季红", "大额存", "新能源", "现金管", "易方达", "身份证"),
    4: ("固定收益", "指数增强", "提前支取", "风险评估", "年金保险", "消费贷款", "存款保险",
        "现金管理类理财", "个人养老金账户"),
}  # fmt: skip
