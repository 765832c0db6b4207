"""First start: send a CSR with the one-time code, check the returned CA against the fingerprint.

The code, the pin check and the exchange are `branch_hub.client.enrolment_code`, shared with the
kiosk. That first call cannot verify the hub, so nothing in the answer is believed until the CA
matches the fingerprint IT gave out (typed, or inside the QR) and the hub's own certificate is then
verified against that CA with the new client certificate. The private key never leaves the device.
"""

from __future__ import annotations

import socket
from typing import Any

from branch_hub.client.enrolment import hub_is_trusted
from branch_hub.client.enrolment_code import parse_enrolment_code, request_identity
from tablet.device import DeviceStore, EnrolmentError
from tablet.i18n import N_, chinese

__all__ = ["enrol_device"]


def _both(message: str) -> tuple[str, str]:
    """An enrolment refusal in English and Chinese (IT reads both on the setup screen)."""
    return message, chinese(message)


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
        raise EnrolmentError(*_both(N_("the hub address must be an https:// URL")))
    if not expected:
        raise EnrolmentError(
            *_both(N_("type the CA fingerprint IT gave you (or scan the enrolment QR)"))
        )
    answer, key_pem = request_identity(hub, code.code, expected, code.kind or kind, _device_name())
    store.pin_ca(answer.ca_certificate.encode("ascii"), expected)
    store.store_identity(answer.certificate.encode("ascii"), key_pem)
    if not hub_is_trusted(hub, store.tls()):
        # The hub's server certificate must chain to the pinned CA; else forget what we got.
        store.forget_identity()
        store.ca_path.unlink(missing_ok=True)
        raise EnrolmentError(*_both(N_("the hub's certificate is not from the pinned branch CA")))
    store.save_settings(hub_url=hub)
    return {"device_id": store.settings().get("device_id")}
