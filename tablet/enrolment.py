"""First start: send a CSR with the one-time code, check the returned CA against the fingerprint.

The exchange itself is `branch_hub.client.enrolment`. That first call cannot verify the hub, so
nothing in the answer is believed until the CA matches the fingerprint IT gave out (typed, or
inside the QR) and the hub's own certificate is then verified against that CA with the new client
certificate. The private key never leaves the device.
"""

from __future__ import annotations

import socket
from typing import Any

from branch_hub.client import HubError, HubRefused, HubUnavailable
from branch_hub.client.enrolment import EnrolRequest, enrol_unverified, hub_is_trusted
from tablet.device import DeviceStore, EnrolmentError, make_csr, parse_enrolment_code

__all__ = ["enrol_device"]


def _device_name() -> str:
    return f"tablet-{socket.gethostname()}"[:64]


def enrol_device(
    store: DeviceStore, hub_url: str, code_text: str, fingerprint: str, kind: str = "tablet"
) -> dict[str, Any]:
    """Enrol with the hub; on success the store holds CA, key and certificate."""
    code = parse_enrolment_code(code_text)
    hub = (code.hub_url or hub_url).strip().rstrip("/")
    expected = code.ca_fingerprint or fingerprint
    if not hub.startswith("https://"):
        raise EnrolmentError("the hub address must be an https:// URL")
    if not expected:
        raise EnrolmentError("type the CA fingerprint IT gave you (or scan the enrolment QR)")
    csr_pem, key_pem = make_csr(_device_name())
    request = EnrolRequest(code.code, csr_pem.decode("ascii"), kind)
    try:
        answer = enrol_unverified(hub, request)
    except HubUnavailable as exc:
        raise EnrolmentError(str(exc)) from exc
    except HubRefused as exc:
        raise EnrolmentError(
            exc.message or f"the hub refused the enrolment ({exc.status})"
        ) from exc
    except HubError as exc:
        raise EnrolmentError(f"the hub's enrolment answer is not usable: {exc}") from exc
    store.pin_ca(answer.ca_certificate.encode("ascii"), expected)
    store.store_identity(answer.certificate.encode("ascii"), key_pem)
    if not hub_is_trusted(hub, store.tls()):
        # The hub's server certificate must chain to the pinned CA; else forget what we got.
        store.forget_identity()
        store.ca_path.unlink(missing_ok=True)
        raise EnrolmentError("the hub's certificate is not from the pinned branch CA")
    store.save_settings(hub_url=hub)
    return {"device_id": store.settings().get("device_id")}
