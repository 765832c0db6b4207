"""The branch itself: who it is, the services it offers, its counters, tiers, queue and kiosks."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from branch_hub.config._hours import OpeningHours
from branch_hub.config._strict import Strict


class BranchInfo(Strict):
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
    opening_hours: OpeningHours = Field(
        default_factory=OpeningHours,
        description="When the branch is open to customers, per weekday ([branch.opening_hours]); "
        "same-day bookings must fall inside the day's hours.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Service(Strict):
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


class Counter(Strict):
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


class Tier(Strict):
    """A customer tier, derived from assets under management."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Tier code, e.g. 'wealth'.")
    name_zh: str = Field(min_length=1, description="Chinese tier name shown to staff.")
    name_en: str = Field(min_length=1, description="English tier name.")
    min_aum_cny: int = Field(ge=0, description="Lowest AUM (CNY) that earns this tier, inclusive.")
    priority: bool = Field(
        default=False, description="Whether tickets of this tier are queued in the priority class."
    )
    wait_target_s: float = Field(
        default=900.0,
        ge=30,
        le=14400,
        description="Seconds a customer of this tier should wait at most; the lobby board "
        "alerts when a wait passes it (walk-ins are held to the lowest tier's target).",
    )


class PriorityPolicy(StrEnum):
    """How the queue orders priority and ordinary tickets."""

    STRICT = "strict"
    WEIGHTED = "weighted"


class QueuePolicy(Strict):
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


class StationRole(StrEnum):
    """What a station's readers are for."""

    KIOSK = "kiosk"  # customers read themselves in and take a ticket
    DESK = "desk"  # staff read a waiting walk-in's ID card to identify the ticket


class Station(Strict):
    """A kiosk station, or a staff desk's readers, and the devices attached to it, each as a URL."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="Station id, e.g. 'K1'.")
    role: StationRole = Field(
        default=StationRole.KIOSK,
        description="'kiosk': a customer kiosk (sessions, tickets, printer); 'desk': readers at a "
        "staff desk whose reads only identify a waiting walk-in's ticket on a staff request "
        "(needs an id_reader, has no printer; never starts a kiosk session).",
    )
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

    def role_problem(self) -> tuple[str, str] | None:
        """The key and message of what this station's role forbids, or None."""
        if self.role is not StationRole.DESK:
            return None
        if self.printer != "none":
            return "printer", f"desk {self.id!r} has a printer; a desk never prints (remove it)"
        if self.id_reader == "none":
            return "id_reader", f"desk {self.id!r} needs an id_reader"
        return None


def default_tiers() -> list[Tier]:
    """Return the usual tiers: mass, basic, wealth and private banking."""
    return [
        Tier(code="mass", name_zh="大众客户", name_en="Mass", min_aum_cny=0, wait_target_s=1200),
        Tier(code="basic", name_zh="基础客户", name_en="Basic", min_aum_cny=50_000),
        Tier(
            code="wealth",
            name_zh="财富客户",
            name_en="Wealth",
            min_aum_cny=500_000,
            priority=True,
            wait_target_s=600,
        ),
        Tier(
            code="private",
            name_zh="私人银行客户",
            name_en="Private Banking",
            min_aum_cny=6_000_000,
            priority=True,
            wait_target_s=300,
        ),
    ]
