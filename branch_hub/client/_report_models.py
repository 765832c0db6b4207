"""The branch report on the wire: a day's, week's or month's aggregates, no customer named.

Durations are seconds; shares and conversions are fractions (0..1, null with nothing to divide).
`staff` is null unless the caller is the branch manager. `to_wire()` gives back the hub's JSON
exactly; `from_wire()` raises WireError on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._report_codec import read_model, write_model

__all__ = [
    "AppointmentArrivals",
    "AppointmentFigures",
    "ArrivalFigures",
    "BranchReport",
    "Conversion",
    "DeviceFigures",
    "DeviceLine",
    "Durations",
    "HandoffFigures",
    "HourArrivals",
    "HqLinkFigures",
    "KeyedConversion",
    "KeyedDurations",
    "LeadFigures",
    "PresentedProduct",
    "ProductViewFigures",
    "RecognitionFigures",
    "ServiceTimes",
    "StaffLine",
    "TicketCounts",
    "TierWaits",
]


@dataclass(frozen=True)
class Durations:
    """How many durations, their mean, median and 90th percentile (nearest rank)."""

    count: int
    mean_s: float | None
    p50_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class KeyedDurations:
    """Durations of one service or counter."""

    key: str
    count: int
    mean_s: float | None
    p50_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class HourArrivals:
    """Tickets issued in one hour of the branch's local time (9 = 09:00-09:59)."""

    hour: int
    arrivals: int


@dataclass(frozen=True)
class ArrivalFigures:
    """Arrivals (tickets issued) in the period and by hour of the day."""

    total: int
    by_hour: tuple[HourArrivals, ...]


@dataclass(frozen=True)
class RecognitionFigures:
    """Visits by recognition: chip_card, stripe, passbook, id_card, walk_in (card: older visits)."""

    visits: int
    by_method: dict[str, int]
    recognised_share: float | None
    unknown_reads: int  # a card or document read that the customer cache did not know


@dataclass(frozen=True)
class TicketCounts:
    """Tickets by their first service and by the customer's tier (walk_in: not recognised)."""

    by_service: dict[str, int]
    by_tier: dict[str, int]


@dataclass(frozen=True)
class TierWaits:
    """Waits from ticket to first call of one tier against the tier's target."""

    tier: str
    called: int
    p50_s: float | None
    p90_s: float | None
    target_s: float | None
    breaches: int | None
    breach_share: float | None


@dataclass(frozen=True)
class ServiceTimes:
    """Service time (call to finish) by service and by counter."""

    service: tuple[KeyedDurations, ...]
    counter: tuple[KeyedDurations, ...]


@dataclass(frozen=True)
class Conversion:
    """Leads presented (an outcome recorded), each outcome, the conversion, and how many of the
    accepted HQ confirmed as purchased."""

    presented: int
    accepted: int
    declined: int
    follow_up: int
    not_suitable: int
    conversion: float | None  # accepted / (presented - not_suitable)
    confirmed: int  # accepted leads HQ's core system booked as a purchase
    confirmed_rate: float | None  # confirmed / accepted


@dataclass(frozen=True)
class KeyedConversion:
    """Lead outcomes of one lead type or one catalogue product."""

    key: str
    presented: int
    accepted: int
    declined: int
    follow_up: int
    not_suitable: int
    conversion: float | None
    confirmed: int  # of a product: accepted leads bought as this product
    confirmed_rate: float | None


@dataclass(frozen=True)
class LeadFigures:
    """Lead outcomes: overall, declines by reason, by lead type and by catalogue product."""

    total: Conversion
    declined_by_reason: dict[str, int]
    by_lead_type: tuple[KeyedConversion, ...]
    by_product: tuple[KeyedConversion, ...]


@dataclass(frozen=True)
class HandoffFigures:
    """Hand-offs given, accepted, never accepted, and how long until the receiver took them."""

    given: int
    accepted: int
    not_accepted: int
    taken_after: Durations


@dataclass(frozen=True)
class PresentedProduct:
    """How often one catalogue product was shown to customers in presentation mode."""

    product_code: str
    presented: int


@dataclass(frozen=True)
class ProductViewFigures:
    """Catalogue product views by mode and presentations by product."""

    by_mode: dict[str, int]
    presented_by_product: tuple[PresentedProduct, ...]


@dataclass(frozen=True)
class HqLinkFigures:
    """The period's records for HQ: by state, lag from record to HQ's receipt, days batched."""

    records: int
    sent: int
    pending: int
    rejected: int
    oldest_pending_at: str | None
    lag: Durations
    days_batched: int


@dataclass(frozen=True)
class DeviceLine:
    """One station device's alerts (not clears) and minutes from an alert to its clear."""

    station: str
    device: str
    faults: int
    minutes_down: float


@dataclass(frozen=True)
class DeviceFigures:
    """Device faults from the live event log; `complete` false when it no longer holds the
    period's start (it keeps `[retention] push_days` days; `kept_from`: its oldest event)."""

    complete: bool
    kept_from: str | None
    by_device: tuple[DeviceLine, ...]


@dataclass(frozen=True)
class AppointmentArrivals:
    """Booked customers who checked in within the window, by when."""

    early: int
    on_time: int
    late: int


@dataclass(frozen=True)
class AppointmentFigures:
    """Appointments of the period: booked (HQ's and the branch's), checked in, missed (came
    after the grace: an ordinary ticket), no-shows, still to come."""

    booked: int
    checked_in: AppointmentArrivals
    missed: int
    no_show: int
    pending: int
    by_channel: dict[str, int]


@dataclass(frozen=True)
class StaffLine:
    """One staff member's period (branch manager only)."""

    staff_id: str
    name: str | None
    role: str | None
    service: Durations
    idle_s: float
    idle_while_waiting_s: float
    leads: Conversion
    handoffs_given: int
    handoffs_taken: Durations
    product_views: int


@dataclass(frozen=True)
class BranchReport:
    """GET /reports/{period}: one branch's figures for a day, ISO week or month."""

    branch_id: str
    period: str  # day | week | month
    first_day: str
    last_day: str
    business_days: tuple[str, ...]  # days of the period with queue activity
    generated_at: str
    arrivals: ArrivalFigures
    recognition: RecognitionFigures
    tickets: TicketCounts
    waits: tuple[TierWaits, ...]
    no_shows: int
    transfers: int
    service_times: ServiceTimes
    leads: LeadFigures
    handoffs: HandoffFigures
    product_views: ProductViewFigures
    hq_link: HqLinkFigures
    devices: DeviceFigures
    appointments: AppointmentFigures
    staff: tuple[StaffLine, ...] | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return write_model(self)

    @classmethod
    def from_wire(cls, body: object) -> BranchReport:
        """Parse; raise WireError on a wrong shape."""
        return read_model(cls, body, "report")
