"""Lead products in memory: no catalogue is never an error, old exports still check, bad codes are
refused naming the field and never the value."""

from __future__ import annotations

from datetime import date

import pytest

from branch_hub.briefs import ProductFacts, build_brief, judge_lead
from sync.export_fields import ExportFieldError, check_card_fields
from sync.synth import SynthOptions, generate
from tests.support.lobbyenv import branch_config

TODAY = date(2026, 3, 2)
FACTS = {
    "FD2026A0001": ProductFacts("FD2026A0001", "稳健基金", "R4", "2026-01-01", "2026-12-31"),
    "DP2026A0002": ProductFacts("DP2026A0002", "大额存单", "R1", "2025-01-01", "2025-12-31"),
}
LEAD = {"lead_id": "L1", "product": "基金定投", "product_code": "fund_sip", "score": "high"}


def test_no_catalogue_names_products_from_the_lead_and_blocks_nothing() -> None:
    verdict = judge_lead(LEAD | {"product_codes": ["FD2026A0001"]}, None, None, TODAY)
    [product] = verdict.products
    assert (product["name_zh"], product["suitability"], product["risk"]) == (
        "基金定投",
        "not_in_catalogue",
        None,
    )
    assert verdict.not_suitable_reason is None


def test_a_lead_is_unsuitable_only_when_no_judged_product_suits() -> None:
    c2 = {"level": "C2", "expires": "2026-12-31"}
    both = judge_lead(LEAD | {"product_codes": ["FD2026A0001", "DP2026A0002"]}, FACTS, c2, TODAY)
    assert both.not_suitable_reason is None  # the deposit suits (though off sale: on_sale False)
    assert [p["on_sale"] for p in both.products] == [True, False]
    risky = judge_lead(LEAD | {"product_codes": ["FD2026A0001", "XX0000"]}, FACTS, c2, TODAY)
    assert risky.not_suitable_reason == "risk_too_high"
    assert [p["code"] for p in risky.refused()] == ["FD2026A0001"]
    assert judge_lead(LEAD, FACTS, c2, TODAY).products == ()  # an old lead names none


def test_a_brief_without_a_catalogue_is_built() -> None:
    record = {
        "customer_id": "C1",
        "name": "王小明",
        "leads": [LEAD | {"product_codes": ["FD2026A0001"]}],
    }
    brief = build_brief(
        record, role="wealth_manager", visit_id="v", today=TODAY, branch=branch_config()
    )
    [lead] = brief["leads"]
    assert lead["products"][0]["suitability"] == "not_in_catalogue"
    assert lead["not_suitable_reason"] is None


def test_exports_with_and_without_product_codes_check() -> None:
    for customer in generate(SynthOptions(customers=30, seed=3, as_of=TODAY)):
        check_card_fields(customer)  # an export made without a catalogue: no codes
        assert not any("product_codes" in lead for lead in customer["leads"])
    check_card_fields({"leads": [LEAD | {"product_codes": ["FD2026A0001", "WM2026B0002"]}]})


@pytest.mark.parametrize(
    "codes", [[], ["fd2026"], ["FD2026A0001"] * 4, "FD2026A0001", [110101199001011234]]
)
def test_a_bad_product_code_is_refused_naming_the_field(codes: object) -> None:
    with pytest.raises(ExportFieldError) as caught:
        check_card_fields({"leads": [LEAD | {"product_codes": codes}]})
    assert caught.value.field == "leads.product_codes"
    assert "110101199001011234" not in str(caught.value)
    assert "fd2026" not in str(caught.value)
