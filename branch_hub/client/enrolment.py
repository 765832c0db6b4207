"""First contact with a hub: trade a one-time code and a CSR for the device certificate.

That first call cannot verify the hub (the device has no CA yet), so nothing in the answer is
believed until the caller checks the returned CA against the fingerprint IT gave out, and then
`hub_is_trusted` confirms the hub's own certificate chains to that CA. The key stays on the device.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import InsecureRequestWarning

from branch_hub.client._errors import HubError, HubUnavailable, WireError
from branch_hub.client._rest import HubClient
from branch_hub.client._tls import DeviceTls
from branch_hub.client._transport import API_PREFIX, decode_answer
from branch_hub.client._wire import Reader

__all__ = ["EnrolRequest", "Enrolment", "enrol_unverified", "hub_is_trusted"]


@dataclass(frozen=True)
class EnrolRequest:
    """POST /enrol: the one-time code, the device's CSR (PEM) and its kind."""

    code: str
    csr: str
    kind: str = "tablet"

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"code": self.code, "csr": self.csr, "kind": self.kind}

    @classmethod
    def from_wire(cls, body: object) -> EnrolRequest:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "enrolment")
        return cls(r.text("code"), r.text("csr"), r.text("kind"))


@dataclass(frozen=True)
class Enrolment:
    """POST /enrol's answer: the device certificate and the branch CA (both PEM)."""

    device_id: str
    kind: str
    certificate: str
    ca_certificate: str
    ca_fingerprint: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "device_id": self.device_id,
            "kind": self.kind,
            "certificate": self.certificate,
            "ca_certificate": self.ca_certificate,
            "ca_fingerprint": self.ca_fingerprint,
        }

    @classmethod
    def from_wire(cls, body: object) -> Enrolment:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "enrolment answer")
        return cls(
            r.text("device_id"),
            r.text("kind"),
            r.text("certificate"),
            r.text("ca_certificate"),
            r.text("ca_fingerprint"),
        )


def enrol_unverified(hub_url: str, request: EnrolRequest, timeout_s: float = 10.0) -> Enrolment:
    """Send the enrolment without verifying the hub (see the module docstring)."""
    hub = hub_url.strip().rstrip("/")
    if not hub.startswith("https://"):
        raise HubError("the hub address must be an https:// URL")
    http = requests.Session()
    http.trust_env = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            reply = http.post(  # not yet trusted: the caller pins the CA from a fingerprint
                f"{hub}{API_PREFIX}/enrol", json=request.to_wire(), verify=False, timeout=timeout_s
            )
    except requests.RequestException as exc:
        raise HubUnavailable(f"the hub at {hub} cannot be reached: {type(exc).__name__}") from exc
    finally:
        http.close()
    answer = decode_answer(reply)
    if not isinstance(answer, dict):
        raise WireError("the hub's enrolment answer is not a JSON object")
    return Enrolment.from_wire(answer)


def hub_is_trusted(hub_url: str, tls: DeviceTls, timeout_s: float = 5.0) -> bool:
    """True when the hub's certificate chains to the pinned CA and it accepts this device."""
    try:
        client = HubClient(hub_url, tls, timeout_s=timeout_s)
    except HubError:
        return False
    try:
        client.health()
    except HubError:
        return False
    finally:
        client.close()
    return True
