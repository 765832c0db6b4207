"""A customer cache whose export carries appointments around the branch's current time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from branch_hub.config import WEEKDAYS, BranchConfig, OpeningHours
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file
from tests.support.lobbyenv import BRANCH, BuiltCache

ZONE = ZoneInfo("Asia/Shanghai")


def open_all_day(config: BranchConfig) -> BranchConfig:
    """The config with the branch open 00:00-24:00 every day (tests that book by the real clock)."""
    hours = OpeningHours(**dict.fromkeys(WEEKDAYS, "00:00-24:00"))
    branch = config.branch.model_copy(update={"opening_hours": hours})
    return config.model_copy(update={"branch": branch})


def local_now() -> datetime:
    """The branch's wall clock, naive (as appointments are written)."""
    return datetime.now(ZONE).replace(tzinfo=None, microsecond=0)


def booking(
    ident: str, start: datetime, minutes: int = 30, service: str = "wealth", **more: Any
) -> dict[str, Any]:
    """One appointment as HQ exports it."""
    end = start + timedelta(minutes=minutes)
    return {
        "id": ident,
        "service": service,
        "window_start": start.isoformat(timespec="minutes"),
        "window_end": end.isoformat(timespec="minutes"),
        "channel": "mobile_banking",
        **more,
    }


def build_booked_cache(
    root: Path, edit: Callable[[list[dict[str, Any]]], None], customers: int = 60
) -> BuiltCache:
    """Synthesise an export, let `edit` book appointments in it, publish and pull it."""
    export = root / "export.jsonl"
    options = SynthOptions(customers=customers, seed=7, region_code="110105", as_of=date.today())
    write_export_file(options, export, workers=1, progress=False)
    rows = [orjson.loads(line) for line in export.read_bytes().splitlines()]
    edit(rows)
    export.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    publish(export, hub.public_key(), hq, root / "pub", BRANCH, workers=1, progress=False)
    cache = root / "cache"
    pull(
        (root / "pub").as_uri(),
        cache,
        hq_public=hq.public_key(),
        hub_key=hub,
        branch_id=BRANCH,
        progress=False,
    )
    (cache / "hub_sync.key").write_bytes(
        hub.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return BuiltCache(cache, rows)
