"""The export's optional `appointments`: well-formed bookings pass, a bad one is named by its
field and never by its value, and an absent or null field is fine."""

from __future__ import annotations

from typing import Any

import pytest

from sync.export_fields import ExportFieldError, check_card_fields

GOOD = {
    "id": "AP-20261203-0042",
    "service": "wealth",
    "window_start": "2026-12-03T10:30",
    "window_end": "2026-12-03T11:00",
    "advisor_role": "wealth_manager",
    "advisor": "S-WEALTH",
    "channel": "call_centre",
}


def test_good_absent_and_null_pass() -> None:
    check_card_fields({"appointments": [GOOD, {**GOOD, "id": "AP-2", "advisor": None}]})
    check_card_fields({})
    check_card_fields({"appointments": None})
    check_card_fields({"appointments": []})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"window_start": "2026-12-03 10:30"}, "appointments.window_start"),
        ({"window_start": "2026-12-03T10:30+08:00"}, "appointments.window_start"),
        ({"window_end": "2026-12-03T10:00"}, "appointments.window_end"),
        ({"window_end": "2026-12-04T09:00"}, "appointments.window_end"),
        ({"window_end": "2026-02-30T09:00"}, "appointments.window_end"),
        ({"service": "Wealth Advice"}, "appointments.service"),
        ({"channel": "fax"}, "appointments.channel"),
        ({"advisor_role": "Boss!"}, "appointments.advisor_role"),
        ({"advisor": "张三 13800138000"}, "appointments.advisor"),
        ({"id": ""}, "appointments.id"),
        ({"phone": "13800138000"}, "appointments"),
    ],
)
def test_bad_item_named_by_field_not_value(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ExportFieldError) as info:
        check_card_fields({"appointments": [{**GOOD, **change}]})
    assert info.value.field == field
    for value in change.values():
        assert not value or str(value) not in str(info.value)


def test_list_shape_and_unique_ids() -> None:
    with pytest.raises(ExportFieldError) as info:
        check_card_fields({"appointments": GOOD})
    assert info.value.field == "appointments"
    with pytest.raises(ExportFieldError) as info:
        check_card_fields({"appointments": [GOOD, GOOD]})
    assert info.value.field == "appointments.id"
    with pytest.raises(ExportFieldError):
        check_card_fields({"appointments": [GOOD] * 21})
