"""The small branch the queue tests use: three services, counters with overlapping services."""

from __future__ import annotations

from branch_hub.config import BranchConfig, parse_config

SERVICES = ["cash", "account", "wealth"]
COUNTERS = {"K1": ["cash", "account"], "K2": ["account", "wealth"], "K3": ["cash"]}


def queue_config(extra_counters: int = 0) -> BranchConfig:
    """A small branch: three services, three counters with overlapping services (plus extras)."""
    extra = [
        {"id": f"X{i}", "name_zh": f"X{i}", "number": 100 + i, "services": SERVICES}
        for i in range(extra_counters)
    ]
    return parse_config(
        {
            "branch": {
                "id": "T-1",
                "name_zh": "测试支行",
                "name_en": "Test branch",
                "region_code": "110105",
                "timezone": "Asia/Shanghai",
            },
            "services": [
                {"code": c, "name_zh": c, "name_en": c, "prefix": p, "typical_service_min": m}
                for c, p, m in zip(SERVICES, "ABC", [5, 12, 20], strict=True)
            ],
            "counters": [
                {"id": k, "name_zh": k, "number": i + 1, "services": s}
                for i, (k, s) in enumerate(COUNTERS.items())
            ]
            + extra,
        }
    )


def test_queue_test_branch_is_valid() -> None:
    config = queue_config(extra_counters=2)
    assert [c.id for c in config.counters] == ["K1", "K2", "K3", "X0", "X1"]
    assert config.branch.timezone == "Asia/Shanghai"
