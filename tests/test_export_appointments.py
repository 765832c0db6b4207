"""The export's optional `appointments`: well-formed bookings pass, a bad one is named by its
field and never by its value, and an absent or null field is fine."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.cache import CustomerCache
from sync.export_fields import ExportFieldError, check_card_fields
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file

BRANCH = "BJ-CY-0105"

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
    check_card_fields({"appointments": [{**GOOD, "code_digest": "0f" * 32}]})
    check_card_fields({"appointments": [{**GOOD, "code_digest": None}]})
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
        ({"code_digest": "AB" * 32}, "appointments.code_digest"),
        ({"code_digest": "ab" * 16}, "appointments.code_digest"),
        ({"code_digest": "branchedge://appointment?t=x"}, "appointments.code_digest"),
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


def _publish_and_pull(world: dict[str, Any], export: Path, previous: Path | None) -> Any:
    result = publish(
        export,
        world["hub"].public_key(),
        world["hq"],
        world["pub"],
        BRANCH,
        previous=previous,
        workers=1,
        progress=False,
    )
    pull(
        world["pub"].as_uri(),
        world["cache"],
        hq_public=world["hq"].public_key(),
        hub_key=world["hub"],
        branch_id=BRANCH,
        progress=False,
    )
    return result


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_a_booking_reaches_the_hub_in_a_delta_and_a_bad_one_publishes_nothing(
    tmp_path: Path,
) -> None:
    first = tmp_path / "day1.jsonl"
    options = SynthOptions(customers=20, seed=3, region_code="110105", as_of=date.today())
    write_export_file(options, first, workers=1, progress=False)
    rows = [orjson.loads(line) for line in first.read_bytes().splitlines()]
    world: dict[str, Any] = {
        "hq": Ed25519PrivateKey.generate(),
        "hub": X25519PrivateKey.generate(),
        "pub": tmp_path / "pub",
        "cache": tmp_path / "cache",
    }
    _publish_and_pull(world, first, None)
    rows[4]["appointments"] = [GOOD]
    second = _write(tmp_path / "day2.jsonl", rows)
    delta = _publish_and_pull(world, second, first)
    assert (delta.kind, delta.records) == ("delta", 1)  # only the booked customer travels
    with CustomerCache(world["cache"], world["hub"]) as cache:
        booked = cache.by_customer_id(rows[4]["customer_id"])
        assert booked is not None
        assert booked.record["appointments"] == [GOOD]
        sequence = cache.sequence
    rows[5]["appointments"] = [{**GOOD, "window_end": "2026-12-03T09:00"}]
    third = _write(tmp_path / "day3.jsonl", rows)
    with pytest.raises(Exception, match=r"appointments\.window_end") as info:
        _publish_and_pull(world, third, second)
    assert "09:00" not in str(info.value)
    with CustomerCache(world["cache"], world["hub"]) as cache:
        assert cache.sequence == sequence  # nothing published, nothing changed at the hub
