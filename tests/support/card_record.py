"""A customer record carrying every card field, with values distinctive enough to search for."""

from __future__ import annotations

from typing import Any

# Finding one of these values in a brief's JSON means its field reached that role.
RECORD: dict[str, Any] = {
    "customer_id": "C0000000042",
    "name": "张晓明",
    "gender": "M",
    "birth_date": "1980-06-01",
    "id_number": "110105198006010013",
    "cards": [],
    "passbooks": [],
    "tier": "wealth",
    "aum": 734_512.66,
    "segments": ["seg_family_office"],
    "relationship_manager": "RM0777",
    "risk_assessment": {"level": "C4", "expires": "2026-03-09"},
    "products": {
        "deposits": ["dep_large_cd_3y"],
        "wealth_management": ["wm_balanced_r3"],
        "funds": ["fund_equity_sip_x"],
        "insurance": ["ins_annuity_gold"],
        "loans": ["loan_mortgage_bj"],
        "cards": ["credit_card_platinum"],
    },
    "benefits": ["airport_lounge", "fee_waiver_transfer", "priority_queue", "concierge"],
    "attrition_risk": {"flag": True, "reason": "competitor_offer"},
}
