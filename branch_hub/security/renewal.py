"""Device certificate renewal: an enrolled device trades its current certificate for a new one.

The device authenticates with its current, still valid client certificate and sends a CSR for a
new key; the hub issues a certificate for the same device id and kind. The certificate presented
stays admitted until the device first uses the new one (see `DeviceRegistry.renew`), so a device
that dies before saving its new certificate keeps working with the old one and renews again.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from branch_hub.pki import DEVICE_CERT_DAYS, CertifiedKey, issue_client_cert
from branch_hub.security.devices import DeviceRegistry
from branch_hub.security.enrolment import Issued, parse_csr
from branch_hub.security.errors import SecurityError

__all__ = [
    "RENEW_INTERVAL_S",
    "RENEW_WINDOW_DAYS",
    "Presented",
    "RenewalNotDue",
    "RenewalTooSoon",
    "Renewals",
    "renew",
]

RENEW_WINDOW_DAYS = 30  # a certificate may be renewed in its last 30 days
RENEW_INTERVAL_S = 3600.0  # at most one renewal per device per hour (forced ones included)


class RenewalNotDue(SecurityError):
    """The certificate is not yet in its renewal window (and the renewal was not forced)."""


class RenewalTooSoon(SecurityError):
    """The device renewed less than RENEW_INTERVAL_S ago."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"this device renewed recently; try again in {int(retry_after_s) + 1} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Presented:
    """The verified client certificate a renewal request came with."""

    device_id: str
    kind: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime


class Renewals:
    """When each device last renewed (in memory: a restart forgets, the window still holds)."""

    def __init__(
        self, interval_s: float = RENEW_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, device_id: str) -> None:
        """Take this device's renewal slot or raise RenewalTooSoon."""
        now = self._clock()
        with self._lock:
            last = self._last.get(device_id)
            if last is not None and now - last < self.interval_s:
                raise RenewalTooSoon(self.interval_s - (now - last))
            self._last[device_id] = now

    def release(self, device_id: str) -> None:
        """Give the slot back: the renewal did not happen."""
        with self._lock:
            self._last.pop(device_id, None)


def is_due(presented: Presented, now: dt.datetime, window_days: int = RENEW_WINDOW_DAYS) -> bool:
    """In its last `window_days`, or issued for longer than devices may hold a certificate now."""
    lifetime = presented.not_after - presented.not_before
    if lifetime > dt.timedelta(days=DEVICE_CERT_DAYS, hours=1):
        return True  # issued under the older, longer profile: move it to the current one
    return presented.not_after - now <= dt.timedelta(days=window_days)


def renew(
    registry: DeviceRegistry,
    ca: CertifiedKey,
    renewals: Renewals,
    presented: Presented,
    csr_pem: str,
    force: bool = False,
) -> Issued:
    """Issue the device a new certificate for the CSR's key and make it the current one."""
    public_key = parse_csr(csr_pem)
    if not force and not is_due(presented, dt.datetime.now(dt.UTC)):
        raise RenewalNotDue(
            f"this certificate can be renewed from {RENEW_WINDOW_DAYS} days before it expires "
            f"({presented.not_after:%Y-%m-%d})"
        )
    renewals.claim(presented.device_id)
    try:
        cert, _ = issue_client_cert(ca, presented.device_id, presented.kind, public_key=public_key)
        registry.renew(presented.device_id, presented.serial, cert)
    except BaseException:
        renewals.release(presented.device_id)
        raise
    return Issued(presented.device_id, presented.kind, cert)
