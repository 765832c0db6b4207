"""The whole branch file: cross-section checks, and reading it with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from branch_hub.config._appointments import AppointmentSettings
from branch_hub.config._branch import (
    BranchInfo,
    Counter,
    QueuePolicy,
    Service,
    Station,
    Tier,
    default_tiers,
)
from branch_hub.config._guest import GuestSettings
from branch_hub.config._hub import BriefsSettings, HqSettings, HubSettings, RetentionSettings
from branch_hub.config._lobby import LobbySettings
from branch_hub.config._sms import SmsSettings
from branch_hub.config._strict import ConfigError, KeyedError, Strict, require_unique


class BranchConfig(Strict):
    """The whole branch configuration (hub.toml)."""

    version: int = Field(default=1, ge=1, le=1, description="Config format version (1).")
    branch: BranchInfo
    hub: HubSettings = Field(default_factory=HubSettings)
    hq: HqSettings = Field(default_factory=HqSettings)
    services: list[Service] = Field(min_length=1, description="Services offered at the kiosk.")
    counters: list[Counter] = Field(min_length=1, description="Counters and what they serve.")
    tiers: list[Tier] = Field(
        default_factory=default_tiers, min_length=1, description="Customer tiers."
    )
    queue: QueuePolicy = Field(default_factory=QueuePolicy)
    stations: list[Station] = Field(
        default_factory=list,
        description="Kiosk stations and staff desks' readers, with their devices.",
    )
    briefs: BriefsSettings = Field(default_factory=BriefsSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    lobby: LobbySettings = Field(default_factory=LobbySettings)
    guest: GuestSettings = Field(default_factory=GuestSettings)
    appointments: AppointmentSettings = Field(default_factory=AppointmentSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)

    @model_validator(mode="after")
    def _consistent(self) -> BranchConfig:
        require_unique(self.services, "code", "services", "service code")
        require_unique(self.services, "prefix", "services", "ticket prefix")
        require_unique(self.counters, "id", "counters", "counter id")
        require_unique(self.counters, "number", "counters", "counter number")
        require_unique(self.tiers, "code", "tiers", "tier code")
        require_unique(self.tiers, "min_aum_cny", "tiers", "tier threshold")
        require_unique(self.stations, "id", "stations", "station id")
        for i, station in enumerate(self.stations):
            if (problem := station.role_problem()) is not None:
                raise KeyedError(f"stations[{i}].{problem[0]}", problem[1])
        known = {s.code for s in self.services}
        for i, counter in enumerate(self.counters):
            for j, code in enumerate(counter.services):
                if code not in known:
                    raise KeyedError(
                        f"counters[{i}].services[{j}]",
                        f"counter {counter.id!r} serves unknown service {code!r} "
                        f"(known: {', '.join(sorted(known))})",
                    )
        if min(t.min_aum_cny for t in self.tiers) != 0:
            raise KeyedError("tiers", "the lowest tier must start at min_aum_cny = 0")
        return self

    def tier_for_aum(self, aum_cny: float) -> Tier:
        """Return the tier whose threshold the given AUM reaches."""
        ordered = sorted(self.tiers, key=lambda t: t.min_aum_cny)
        chosen = ordered[0]
        for tier in ordered:
            if aum_cny >= tier.min_aum_cny:
                chosen = tier
        return chosen

    def service(self, code: str) -> Service:
        """Return the service with this code, or raise KeyError."""
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(code)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _describe(error: Any) -> tuple[str, str]:
    """Turn one pydantic error into (key, message)."""
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _format_loc(loc), "unknown key"
    if kind == "missing":
        return _format_loc(loc), "required key is missing"
    original = ctx.get("error")
    if isinstance(original, KeyedError):  # cross-field checks name their own key
        return original.key, original.message
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if (
        "input" in error
        and kind not in {"model_type"}
        and not isinstance(error["input"], dict | list)
    ):
        message += f" (got {error['input']!r})"
    return _format_loc(loc), message


def parse_config(data: dict[str, Any], source: str = "<config>") -> BranchConfig:
    """Validate an already-parsed TOML document into a BranchConfig."""
    try:
        return BranchConfig.model_validate(data)
    except ValidationError as exc:
        key, message = _describe(exc.errors()[0])
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{source}: {key}: {message}{suffix}") from None


def load_config(path: str | Path) -> BranchConfig:
    """Read and validate a branch TOML file, raising ConfigError with one clear line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, str(path))


def resolve_data_dir(config: BranchConfig, config_path: str | Path) -> Path:
    """Return the hub's data directory, relative paths taken from the config file's folder."""
    data_dir = Path(config.hub.data_dir)
    if not data_dir.is_absolute():
        data_dir = Path(config_path).resolve().parent / data_dir
    return data_dir
