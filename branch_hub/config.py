"""Branch configuration: one TOML file per branch, validated into typed objects.

Every field carries its meaning and unit in its description; `docs/configuration.md`
is generated from the same descriptions (`branch-hub --config-reference`).
A bad file raises `ConfigError` whose message is one line naming the file, the key
and what is wrong.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from branch_hub.vocabulary import Role

__all__ = [
    "BRIEF_FIELDS",
    "STAFF_ROLES",
    "BranchConfig",
    "BriefsSettings",
    "ConfigError",
    "PriorityPolicy",
    "RetentionSettings",
    "load_config",
    "parse_config",
]


class ConfigError(ValueError):
    """A branch configuration file is unreadable or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class BranchInfo(_Strict):
    """Who and where the branch is."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")] = Field(
        description="Branch id as HQ knows it (letters, digits, '-', '_'; 2-32 chars)."
    )
    name_zh: str = Field(
        min_length=1, description="Branch name in Chinese, shown on kiosk and tickets."
    )
    name_en: str = Field(min_length=1, description="Branch name in English.")
    region_code: str = Field(
        pattern=r"^[1-8][0-9]{5}$",
        description="6-digit administrative division code (GB/T 2260) of the branch's district; "
        "its first two digits decide which customers count as out-of-town.",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone; the business day and ticket numbering roll over at its midnight.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class HubSettings(_Strict):
    """Where the hub listens and keeps its state."""

    listen: str = Field(
        default="127.0.0.1:8443",
        description="HOST:PORT the HTTPS/WebSocket API listens on.",
    )
    data_dir: str = Field(
        default="var",
        description="Directory for the encrypted cache, queue database and keys; "
        "relative paths are relative to the config file.",
    )
    kiosk_session_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="Seconds before a kiosk session forgets the customer.",
    )
    staff_idle_timeout_s: float = Field(
        default=900.0, gt=0, description="Seconds of inactivity before a staff session ends."
    )
    mdns_interfaces: list[str] = Field(
        default_factory=list,
        description="IPv4 addresses of the interfaces on which the hub advertises itself by mDNS "
        "(_branchhub._tcp); empty: no advertisement.",
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_listen(value)
        return value


def split_listen(value: str) -> tuple[str, int]:
    """Split 'HOST:PORT' (or '[v6]:PORT') into host and port, or raise ValueError."""
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d{1,5})", value)
    if not match or not 0 <= int(match.group(2)) < 65536:  # 0: any free port
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return match.group(1), int(match.group(2))


class HqSettings(_Strict):
    """How the hub reaches headquarters."""

    bundle_url: str = Field(
        default="",
        description="Base URL of HQ's published bundles for this branch (https://, or file:// for tests); "
        "empty disables scheduled pulls.",
    )
    collector_url: str = Field(
        default="",
        description="HTTPS URL of HQ's outcome collector; empty keeps outcomes in the outbox.",
    )
    ca_file: str = Field(
        default="", description="PEM file of the CA that HQ's HTTPS certificates chain to (pinned)."
    )
    signing_public_key: str = Field(
        default="",
        description="HQ's Ed25519 bundle-signing public key (PEM file from `branch-sync keygen`); "
        "relative paths are relative to the config file. Required for scheduled pulls.",
    )
    sync_key_file: str = Field(
        default="cache/hub_sync.key",
        description="The hub's X25519 sync private key, relative to the data directory "
        "(written by `branch-provision init`; its public key goes to HQ).",
    )
    pull_interval_s: float = Field(
        default=900.0, ge=10, description="Seconds between scheduled bundle pulls."
    )
    stale_after_s: float = Field(
        default=2 * 86400.0,
        gt=0,
        description="Seconds after which the customer cache is reported stale.",
    )

    @field_validator("bundle_url", "collector_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in {"https", "http", "file"}:
            raise ValueError(f"expected an https:// or file:// URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _pull_needs_key(self) -> HqSettings:
        if self.bundle_url and not self.signing_public_key:
            raise _KeyedError(
                "hq.signing_public_key",
                "bundle_url is set, so HQ's signing public key is needed to verify bundles",
            )
        return self


class Service(_Strict):
    """A service customers queue for."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Stable service code.")
    name_zh: str = Field(min_length=1, description="Chinese name on kiosk buttons and tickets.")
    name_en: str = Field(min_length=1, description="English name.")
    prefix: str = Field(
        pattern=r"^[A-Z]$", description="Ticket prefix letter (A-Z), unique per branch."
    )
    typical_service_min: float = Field(
        default=6.0,
        gt=0,
        le=240,
        description="Minutes one customer usually takes; seeds the wait estimate before statistics exist.",
    )


class Counter(_Strict):
    """A counter (window) where staff serve customers."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="Counter id.")
    name_zh: str = Field(min_length=1, description="Chinese name, e.g. '3号窗口'.")
    name_en: str = Field(default="", description="English name, e.g. 'Counter 3'.")
    number: int = Field(
        ge=1, le=999, description="Number announced by voice and shown on the display."
    )
    services: list[str] = Field(
        min_length=1, description="Codes of the services this counter serves."
    )


class Tier(_Strict):
    """A customer tier, derived from assets under management."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Tier code, e.g. 'wealth'.")
    name_zh: str = Field(min_length=1, description="Chinese tier name shown to staff.")
    name_en: str = Field(min_length=1, description="English tier name.")
    min_aum_cny: int = Field(ge=0, description="Lowest AUM (CNY) that earns this tier, inclusive.")
    priority: bool = Field(
        default=False, description="Whether tickets of this tier are queued in the priority class."
    )


class PriorityPolicy(StrEnum):
    """How the queue orders priority and ordinary tickets."""

    STRICT = "strict"
    WEIGHTED = "weighted"


class QueuePolicy(_Strict):
    """Priority policy of the queue engine."""

    policy: PriorityPolicy = Field(
        default=PriorityPolicy.WEIGHTED,
        description="'strict': priority tickets always first; 'weighted': interleave by the weights.",
    )
    priority_weight: int = Field(
        default=2, ge=1, le=20, description="Priority tickets called per round (weighted policy)."
    )
    ordinary_weight: int = Field(
        default=1, ge=1, le=20, description="Ordinary tickets called per round (weighted policy)."
    )
    aging_cap_min: float = Field(
        default=15.0,
        ge=0,
        le=240,
        description="Minutes: an ordinary ticket never waits more than this much longer because of "
        "priority customers; 0 disables the cap.",
    )
    no_show_grace_s: float = Field(
        default=120.0, ge=0, le=3600, description="Seconds a no-show ticket may still be recalled."
    )


_DEVICE_SCHEMES = {"pcsc", "serial", "sim", "socket", "usb", "tcp", "wedge", "none"}


class Station(_Strict):
    """A kiosk station and the devices attached to it, each as a URL."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="Station id, e.g. 'K1'.")
    card_reader: str = Field(
        default="none", description="Bank card reader: 'pcsc://READER NAME' or 'sim://card'."
    )
    id_reader: str = Field(
        default="none",
        description="Resident ID reader: 'serial:///dev/ttyUSB0?baud=115200', 'socket://HOST:PORT' or 'sim://idreader'.",
    )
    magstripe: str = Field(
        default="none",
        description="Magnetic stripe reader: 'serial:///dev/ttyS0?baud=9600', 'wedge:///dev/input/eventN' or 'sim://magstripe'.",
    )
    printer: str = Field(
        default="none",
        description="Ticket printer: 'serial:///dev/ttyUSB1?baud=19200', 'usb://VID:PID', 'tcp://HOST:9100' or 'sim://printer'.",
    )

    @field_validator("card_reader", "id_reader", "magstripe", "printer")
    @classmethod
    def _device_url(cls, value: str) -> str:
        scheme = value.split(":", 1)[0] if ":" in value else value
        if scheme not in _DEVICE_SCHEMES:
            raise ValueError(
                f"unknown device URL scheme {scheme!r} (expected one of {', '.join(sorted(_DEVICE_SCHEMES))})"
            )
        return value


# Staff roles (docs/security.md) and the brief fields a role can be denied (docs/briefs.md).
STAFF_ROLES = tuple(Role)
BRIEF_FIELDS = ("masked_name", "aum_band", "leads", "talking_points", "events", "notes")


class BriefsSettings(_Strict):
    """What a customer brief shows to each staff role."""

    hide: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Per role, the brief fields it must not see, e.g. `teller = ["aum_band", '
        '"talking_points"]`; a listed role replaces its default, unlisted roles keep theirs '
        "(lobby_manager, account_manager: aum_band; teller: aum_band, talking_points). "
        f"Fields: {', '.join(BRIEF_FIELDS)}.",
    )
    birthday_window_days: int = Field(
        default=7, ge=0, le=31, description="Days ahead (inclusive) a birthday is announced."
    )
    long_absence_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="Days since the last visit after which a 'long absence' event is shown.",
    )
    aum_band_edges_cny: list[int] = Field(
        default_factory=lambda: [50_000, 500_000, 1_000_000, 6_000_000],
        min_length=1,
        max_length=12,
        description="Ascending CNY edges of the AUM bands shown to wealth roles "
        "(default bands: 5万以下, 5万-50万, 50万-100万, 100万-600万, 600万以上).",
    )

    @field_validator("hide")
    @classmethod
    def _known_roles_and_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, fields in value.items():
            if role not in STAFF_ROLES:
                raise ValueError(f"unknown role {role!r} (known: {', '.join(STAFF_ROLES)})")
            for name in fields:
                if name not in BRIEF_FIELDS:
                    raise ValueError(
                        f"unknown brief field {name!r} for role {role!r} "
                        f"(known: {', '.join(BRIEF_FIELDS)})"
                    )
        return value

    @field_validator("aum_band_edges_cny")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if any(edge <= 0 for edge in value) or any(a >= b for a, b in itertools.pairwise(value)):
            raise ValueError("AUM band edges must be positive and strictly ascending")
        return value


class RetentionSettings(_Strict):
    """How long the hub keeps history it no longer needs, and how often it deletes the rest."""

    push_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description="Business days of live-event history kept before today (today is always "
        "kept); a device that reconnects with an older `since=` is told to reload (`resync`, "
        "reason `pruned`).",
    )
    outbox_sent_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Business days before today for which outcomes HQ has acknowledged (and "
        "whose day batch HQ holds) stay in the outbox; older ones are deleted. Undelivered or "
        "refused outcomes are never deleted.",
    )
    requeue_rejected_daily: bool = Field(
        default=True,
        description="Once a business day, put outcomes HQ refused back in the queue, so a refusal "
        "HQ has since fixed (e.g. a key it now knows) is delivered without an operator.",
    )
    prune_interval_s: float = Field(
        default=3600.0,
        ge=60,
        le=86400,
        description="Seconds between pruning rounds; the first round runs a minute after start.",
    )


def _default_tiers() -> list[Tier]:
    return [
        Tier(code="mass", name_zh="大众客户", name_en="Mass", min_aum_cny=0),
        Tier(code="basic", name_zh="基础客户", name_en="Basic", min_aum_cny=50_000),
        Tier(
            code="wealth", name_zh="财富客户", name_en="Wealth", min_aum_cny=500_000, priority=True
        ),
        Tier(
            code="private",
            name_zh="私人银行客户",
            name_en="Private Banking",
            min_aum_cny=6_000_000,
            priority=True,
        ),
    ]


class BranchConfig(_Strict):
    """The whole branch configuration (hub.toml)."""

    version: int = Field(default=1, ge=1, le=1, description="Config format version (1).")
    branch: BranchInfo
    hub: HubSettings = Field(default_factory=HubSettings)
    hq: HqSettings = Field(default_factory=HqSettings)
    services: list[Service] = Field(min_length=1, description="Services offered at the kiosk.")
    counters: list[Counter] = Field(min_length=1, description="Counters and what they serve.")
    tiers: list[Tier] = Field(
        default_factory=_default_tiers, min_length=1, description="Customer tiers."
    )
    queue: QueuePolicy = Field(default_factory=QueuePolicy)
    stations: list[Station] = Field(
        default_factory=list, description="Kiosk stations and their devices."
    )
    briefs: BriefsSettings = Field(default_factory=BriefsSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @model_validator(mode="after")
    def _consistent(self) -> BranchConfig:
        _unique(self.services, "code", "services", "service code")
        _unique(self.services, "prefix", "services", "ticket prefix")
        _unique(self.counters, "id", "counters", "counter id")
        _unique(self.counters, "number", "counters", "counter number")
        _unique(self.tiers, "code", "tiers", "tier code")
        _unique(self.tiers, "min_aum_cny", "tiers", "tier threshold")
        _unique(self.stations, "id", "stations", "station id")
        known = {s.code for s in self.services}
        for i, counter in enumerate(self.counters):
            for j, code in enumerate(counter.services):
                if code not in known:
                    raise _KeyedError(
                        f"counters[{i}].services[{j}]",
                        f"counter {counter.id!r} serves unknown service {code!r} "
                        f"(known: {', '.join(sorted(known))})",
                    )
        if min(t.min_aum_cny for t in self.tiers) != 0:
            raise _KeyedError("tiers", "the lowest tier must start at min_aum_cny = 0")
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


class _KeyedError(ValueError):
    """A cross-field error that knows which key it belongs to."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _unique(items: list[Any], attr: str, section: str, what: str) -> None:
    seen: dict[Any, int] = {}
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            raise _KeyedError(
                f"{section}[{i}].{attr}",
                f"duplicate {what} {value!r} (also used by {section}[{seen[value]}])",
            )
        seen[value] = i


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
    if isinstance(original, _KeyedError):  # cross-field checks name their own key
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


def reference_markdown() -> str:
    """Render every config field with its meaning and unit as Markdown."""
    lines = [
        "# Branch configuration reference",
        "",
        "Generated by `branch-hub --config-reference`.",
        "",
    ]
    sections: list[tuple[str, type[BaseModel]]] = [
        ("(top level)", BranchConfig),
        ("[branch]", BranchInfo),
        ("[hub]", HubSettings),
        ("[hq]", HqSettings),
        ("[[services]]", Service),
        ("[[counters]]", Counter),
        ("[[tiers]]", Tier),
        ("[queue]", QueuePolicy),
        ("[[stations]]", Station),
        ("[briefs]", BriefsSettings),
        ("[retention]", RetentionSettings),
    ]
    for title, model in sections:
        lines += [f"## {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            if model is BranchConfig and name not in {"version"}:
                continue
            annotation = getattr(field.annotation, "__name__", str(field.annotation))
            default = (
                "required"
                if field.is_required()
                else repr(field.get_default(call_default_factory=True))
            )
            if len(default) > 40:
                default = "see example"
            lines.append(f"| `{name}` | {annotation} | {default} | {field.description or ''} |")
        lines.append("")
    return "\n".join(lines)
