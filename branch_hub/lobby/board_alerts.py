"""The lobby board's alert rules: a priority customer unclaimed too long, a tier over its target.

Pure: from the board's waiting figures to the alerts that should be up now, each with a stable key
(one per unclaimed ticket, one per tier), so the hub raises each once and clears it once its
cause is gone. The messages name a ticket number and a tier, never a customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from branch_hub.alerts import Alert
from branch_hub.config import Tier
from branch_hub.lobby.board_figures import WALK_IN, WaitingFigures
from branch_hub.vocabulary import HubAlertKind

__all__ = ["LOBBY_ALERT_KINDS", "due_alerts", "is_lobby_alert", "tier_names"]

LOBBY_ALERT_KINDS = frozenset({HubAlertKind.PRIORITY_UNCLAIMED, HubAlertKind.WAIT_OVER_TARGET})
_WALK_IN_NAMES = ("walk-in", "未识别客户")


def tier_names(tiers: Iterable[Tier]) -> dict[str, tuple[str, str]]:
    """Each tier's English and Chinese name, walk-ins included."""
    return {t.code: (t.name_en, t.name_zh) for t in tiers} | {WALK_IN: _WALK_IN_NAMES}


def _span(seconds: float) -> tuple[str, str]:
    """A duration as staff say it, in English and Chinese (whole minutes from one minute up)."""
    if seconds >= 60:
        minutes = round(seconds / 60)
        return f"{minutes} min", f"{minutes}分钟"
    whole = round(seconds)
    return f"{whole} s", f"{whole}秒"


def is_lobby_alert(alert: Alert) -> bool:
    """Whether the board's rules own this alert (they clear what they raised, nothing else)."""
    return alert.kind in LOBBY_ALERT_KINDS


def due_alerts(
    figures: WaitingFigures, unclaimed_alert_s: float, names: Mapping[str, tuple[str, str]]
) -> dict[str, Alert]:
    """The lobby alerts that should be up for these figures, by key."""
    due: dict[str, Alert] = {}
    after_en, after_zh = _span(unclaimed_alert_s)
    for person in figures.unclaimed:
        if not person.alert:
            continue
        en, zh = names.get(person.tier, (person.tier, person.tier))
        key = f"priority_unclaimed:{person.ticket_id}"
        due[key] = Alert(
            HubAlertKind.PRIORITY_UNCLAIMED,
            key,
            f"Priority customer {person.ticket} ({en}) unclaimed for over {after_en}.",
            f"贵宾 {person.ticket}（{zh}）已等候超过{after_zh}，尚无人接待。",
        )
    for line in figures.tiers:
        if line.over_target == 0:
            continue
        en, zh = names.get(line.tier, (line.tier, line.tier))
        target_en, target_zh = _span(line.target_s)
        key = f"wait_over_target:{line.tier}"
        due[key] = Alert(
            HubAlertKind.WAIT_OVER_TARGET,
            key,
            f"{en} customers are waiting longer than the {target_en} target.",
            f"{zh}等候已超过目标时长{target_zh}。",
        )
    return due
