"""The queue bench's simulated branch: its services, counters, tiers and arrival profile."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from branch_hub.config import BranchConfig, PriorityPolicy, QueuePolicy, parse_config
from branch_hub.queue import Actor

# service code, prefix, median minutes, share of arrivals
SERVICES = [("cash", "A", 1.5, 0.60), ("account", "B", 3.0, 0.25), ("wealth", "C", 6.0, 0.08)]
SERVICES += [("loan", "D", 4.5, 0.07)]
COUNTERS = [["cash", "account"]] * 5 + [["cash", "loan"], ["account", "loan", "wealth"]]
COUNTERS += [["wealth", "loan", "account"]]
SIGMA = 0.5  # lognormal shape of service times
# arrivals per hour from 09:00 to 17:00 (peak 300/hour late morning)
PROFILE = [50, 120, 300, 180, 90, 110, 160, 70]
# tier shares: mass and basic are ordinary; wealth and private are priority; plus appointments
TIERS = [("mass", 0.60), ("basic", 0.285), ("wealth", 0.09), ("private", 0.015)]
APPOINTMENT_SHARE = 0.01
OPEN = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
KIOSK = Actor(None, "K1")
STAFF = Actor("s-bench", "tablet-bench")

POLICIES = {
    "strict": QueuePolicy(policy=PriorityPolicy.STRICT, aging_cap_min=0),
    "weighted": QueuePolicy(policy=PriorityPolicy.WEIGHTED, aging_cap_min=0),
    "weighted_cap": QueuePolicy(policy=PriorityPolicy.WEIGHTED, aging_cap_min=15),
    "strict_cap": QueuePolicy(policy=PriorityPolicy.STRICT, aging_cap_min=15),
}
DEFAULT_POLICY = "weighted_cap"


def bench_config(policy: QueuePolicy | None = None) -> BranchConfig:
    """The simulated branch: four services, eight counters."""
    return parse_config(
        {
            "branch": {
                "id": "BENCH",
                "name_zh": "基准支行",
                "name_en": "Bench branch",
                "region_code": "110105",
            },
            "services": [
                {"code": c, "name_zh": c, "name_en": c, "prefix": p, "typical_service_min": m}
                for c, p, m, _ in SERVICES
            ],
            "counters": [
                {"id": f"C{i + 1}", "name_zh": f"{i + 1}号窗口", "number": i + 1, "services": s}
                for i, s in enumerate(COUNTERS)
            ],
            "queue": (policy or POLICIES[DEFAULT_POLICY]).model_dump(mode="json"),
        }
    )


def draw_customer(rng: random.Random) -> tuple[str, str, bool]:
    """Draw a customer's service, tier and whether they booked an appointment."""
    service = rng.choices([s[0] for s in SERVICES], [s[3] for s in SERVICES])[0]
    tier = rng.choices([t[0] for t in TIERS], [t[1] for t in TIERS])[0]
    return service, tier, rng.random() < APPOINTMENT_SHARE
