"""Branch configuration: the sample validates; every kind of mistake gets one clear line."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from branch_hub.config import (
    BranchConfig,
    ConfigError,
    PriorityPolicy,
    load_config,
    parse_config,
    reference_markdown,
)
from tests.support.hubkit import provision


@pytest.fixture
def sample(sample_config_path: Path) -> dict[str, Any]:
    return tomllib.loads(sample_config_path.read_text(encoding="utf-8"))


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "hub.toml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("hub.toml: ")
    return message


def test_sample_config_is_valid(sample_config_path: Path) -> None:
    config = load_config(sample_config_path)
    assert isinstance(config, BranchConfig)
    assert config.branch.region_code == "110105"
    assert config.queue.policy is PriorityPolicy.WEIGHTED
    assert config.tier_for_aum(0).code == "mass"
    assert config.tier_for_aum(499_999.99).code == "basic"
    assert config.tier_for_aum(500_000).code == "wealth"
    assert config.tier_for_aum(10**9).code == "private"
    assert config.service("cash").prefix == "A"


def test_missing_key(sample: dict[str, Any]) -> None:
    del sample["branch"]["region_code"]
    assert _error(sample) == "hub.toml: branch.region_code: required key is missing"


def test_missing_section(sample: dict[str, Any]) -> None:
    del sample["services"]
    assert "services: required key is missing" in _error(sample)


def test_wrong_type(sample: dict[str, Any]) -> None:
    sample["counters"][1]["number"] = "two"
    message = _error(sample)
    assert message.startswith("hub.toml: counters[1].number: ")
    assert "'two'" in message


def test_unknown_key(sample: dict[str, Any]) -> None:
    sample["queue"]["polciy"] = "strict"
    assert _error(sample) == "hub.toml: queue.polciy: unknown key"


def test_unknown_top_level_key(sample: dict[str, Any]) -> None:
    sample["extra"] = {}
    assert _error(sample) == "hub.toml: extra: unknown key"


def test_duplicate_prefix(sample: dict[str, Any]) -> None:
    sample["services"][2]["prefix"] = "A"
    assert _error(sample) == (
        "hub.toml: services[2].prefix: duplicate ticket prefix 'A' (also used by services[0])"
    )


def test_counter_serving_unknown_service(sample: dict[str, Any]) -> None:
    sample["counters"][0]["services"] = ["cash", "forex"]
    message = _error(sample)
    assert message.startswith(
        "hub.toml: counters[0].services[1]: counter 'C1' serves unknown service 'forex'"
    )


def test_bad_region_code(sample: dict[str, Any]) -> None:
    sample["branch"]["region_code"] = "11010"
    assert _error(sample).startswith("hub.toml: branch.region_code: ")


def test_bad_timezone(sample: dict[str, Any]) -> None:
    sample["branch"]["timezone"] = "Asia/Peking"
    assert "unknown time zone 'Asia/Peking'" in _error(sample)


def test_bad_policy(sample: dict[str, Any]) -> None:
    sample["queue"]["policy"] = "random"
    assert _error(sample).startswith("hub.toml: queue.policy: ")


def test_bad_device_url(sample: dict[str, Any]) -> None:
    sample["stations"][0]["printer"] = "lpt://1"
    assert "unknown device URL scheme 'lpt'" in _error(sample)


def test_bad_listen(sample: dict[str, Any]) -> None:
    sample["hub"]["listen"] = "localhost"
    assert "expected HOST:PORT" in _error(sample)


def test_lowest_tier_must_start_at_zero(sample: dict[str, Any]) -> None:
    sample["tiers"] = sample["tiers"][1:]
    assert "lowest tier must start at min_aum_cny = 0" in _error(sample)


def test_several_problems_are_counted(sample: dict[str, Any]) -> None:
    del sample["branch"]["name_zh"]
    sample["hub"]["nonsense"] = 1
    assert "(and 1 more problem)" in _error(sample)


def test_invalid_toml(tmp_path: Path) -> None:
    bad = tmp_path / "hub.toml"
    bad.write_text('[branch]\nid = "x\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"hub.toml: invalid TOML: .*line 2"):
        load_config(bad)


def test_not_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "hub.toml"
    bad.write_bytes("[branch]\nname_zh = '支行'\n".encode("gb18030"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_cli_check_ok(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
    provision(tmp_path / "var")
    done = subprocess.run(
        [script("branch-hub"), "--config", str(config), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "OK: branch BJ-CY-0105" in done.stdout


def test_cli_check_bad_file_is_one_line(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    bad = tmp_path / "hub.toml"
    bad.write_text(
        sample_config_path.read_text(encoding="utf-8").replace('prefix = "B"', 'prefix = "A"'),
        encoding="utf-8",
    )
    done = subprocess.run(
        [script("branch-hub"), "--config", str(bad), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{bad}: services[1].prefix: duplicate ticket prefix 'A'" in lines[0]


def test_config_reference_documents_every_field() -> None:
    text = reference_markdown()
    for key in (
        "region_code",
        "timezone",
        "prefix",
        "aging_cap_min",
        "card_reader",
        "bundle_url",
        "listen",
    ):
        assert f"`{key}`" in text


def test_retention_defaults_and_limits(sample_config_path: Path) -> None:
    config = load_config(sample_config_path)
    assert (config.retention.push_days, config.retention.outbox_sent_days) == (7, 30)
    assert config.retention.prune_interval_s == 3600.0
    data = tomllib.loads(sample_config_path.read_text(encoding="utf-8"))
    data["retention"] = {"push_days": 0}
    with pytest.raises(ConfigError, match=r"retention\.push_days"):
        parse_config(data)
    data["retention"] = {"keep_forever": True}
    with pytest.raises(ConfigError, match=r"retention\.keep_forever: unknown key"):
        parse_config(data)
    assert "`outbox_sent_days`" in reference_markdown()
