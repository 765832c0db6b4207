"""Which brief fields each staff role may see (configurable by the `[briefs]` section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from branch_hub.briefs._errors import BriefError, UnknownRole
from branch_hub.config import BRIEF_FIELDS, STAFF_ROLES

if TYPE_CHECKING:
    from branch_hub.config import BranchConfig

__all__ = ["COUNTER_BENEFITS", "DEFAULT_HIDDEN", "RedactionPolicy"]

# The card's customer fields beyond the tier: who may see what is docs/briefs.md's table.
_WEALTH_ONLY = frozenset({"aum_band", "risk_assessment"})
DEFAULT_HIDDEN: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "lobby_manager": _WEALTH_ONLY | {"products", "attrition_reason"},
        "wealth_manager": frozenset(),
        "account_manager": _WEALTH_ONLY,
        "teller": _WEALTH_ONLY
        | {
            "talking_points",
            "segments",
            "relationship_manager",
            "products",
            "non_counter_benefits",
            "attrition",
            "attrition_reason",
        },
        "branch_admin": frozenset(),
    }
)
# The benefits a counter acts on (fee waivers, the priority queue); a teller sees only these.
COUNTER_BENEFITS = frozenset(
    {
        "fee_waiver_transfer",
        "fee_waiver_card_annual",
        "fee_waiver_cash_other_bank",
        "free_mobile_transfer",
        "priority_queue",
    }
)


def _default_hidden() -> Mapping[str, frozenset[str]]:
    return DEFAULT_HIDDEN


@dataclass(frozen=True)
class RedactionPolicy:
    """Per role, the set of brief fields that role must not see; unknown roles see nothing."""

    hidden: Mapping[str, frozenset[str]] = field(default_factory=_default_hidden)
    birthday_window_days: int = 7
    long_absence_days: int = 180
    aum_band_edges_cny: tuple[int, ...] = (50_000, 500_000, 1_000_000, 6_000_000)
    do_not_repitch_days: int = 30
    follow_up_max_days: int = 90

    def __post_init__(self) -> None:
        for role, names in self.hidden.items():
            if role not in STAFF_ROLES:
                raise UnknownRole(role, STAFF_ROLES)
            unknown = set(names) - set(BRIEF_FIELDS)
            if unknown:
                raise BriefError(
                    f"unknown brief field(s) {', '.join(sorted(unknown))} for role {role!r} "
                    f"(known: {', '.join(BRIEF_FIELDS)})"
                )

    @classmethod
    def from_config(cls, config: BranchConfig) -> RedactionPolicy:
        """Build the policy from the branch config's optional `[briefs]` section."""
        settings = config.briefs
        hidden = dict(DEFAULT_HIDDEN)
        for role, names in settings.hide.items():
            hidden[role] = frozenset(names)
        return cls(
            hidden=MappingProxyType(hidden),
            birthday_window_days=settings.birthday_window_days,
            long_absence_days=settings.long_absence_days,
            aum_band_edges_cny=tuple(settings.aum_band_edges_cny),
            do_not_repitch_days=settings.do_not_repitch_days,
            follow_up_max_days=settings.follow_up_max_days,
        )

    def hidden_for(self, role: str) -> frozenset[str]:
        """Return the fields hidden from a role, or raise UnknownRole (fail closed)."""
        try:
            return self.hidden[role]
        except KeyError:
            raise UnknownRole(role, tuple(self.hidden)) from None

    def sees(self, role: str, name: str) -> bool:
        """Tell whether a role may see a brief field."""
        return name not in self.hidden_for(role)
