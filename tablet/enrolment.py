"""First start: send a CSR with the one-time code, check the returned CA against the fingerprint.

Wire format (H6, `branch_hub/security/routes.py`): `POST /api/v1/enrol {"code", "csr"}` (no client
certificate yet) -> `201 {"device_id", "kind", "certificate", "ca_certificate", "ca_fingerprint"}`.
That first call cannot verify the hub, so nothing in the answer is believed until the CA matches
the fingerprint IT gave out (typed, or inside the QR) and the hub's own certificate is then
verified against that CA with the new client certificate. The private key never leaves the device.
"""

from __future__ import annotations

import socket
import warnings
from typing import Any

import requests
from urllib3.exceptions import InsecureRequestWarning

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
    http = requests.Session()
    http.trust_env = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            reply = http.post(  # not yet trusted: see the module docstring
                f"{hub}/api/v1/enrol",
                json={"code": code.code, "csr": csr_pem.decode("ascii"), "kind": kind},
                verify=False,
                timeout=10,
            )
    except requests.RequestException as exc:
        raise EnrolmentError(f"the hub at {hub} cannot be reached: {type(exc).__name__}") from exc
    finally:
        http.close()
    try:
        body = reply.json()
    except ValueError as exc:
        raise EnrolmentError(
            f"the hub's enrolment answer is not JSON ({reply.status_code})"
        ) from exc
    if reply.status_code >= 400 or not isinstance(body, dict):
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message") if isinstance(error, dict) else None
        raise EnrolmentError(message or f"the hub refused the enrolment ({reply.status_code})")
    cert, ca = body.get("certificate"), body.get("ca_certificate")
    if not isinstance(cert, str) or not isinstance(ca, str):
        raise EnrolmentError("the hub's enrolment answer carries no certificate")
    store.pin_ca(ca.encode("ascii"), expected)
    store.store_identity(cert.encode("ascii"), key_pem)
    _check_hub(store, hub)
    store.save_settings(hub_url=hub)
    return {"device_id": store.settings().get("device_id")}


def _check_hub(store: DeviceStore, hub: str) -> None:
    """The hub's server certificate must chain to the pinned CA; else forget what we got."""
    http = requests.Session()
    http.trust_env = False
    try:
        answer = http.get(
            f"{hub}/api/v1/health",
            verify=str(store.ca_path),
            cert=(str(store.cert_path), str(store.key_path)),
            timeout=5,
        )
        ok = answer.status_code == 200
    except requests.RequestException:
        ok = False
    finally:
        http.close()
    if not ok:
        store.forget_identity()
        store.ca_path.unlink(missing_ok=True)
        raise EnrolmentError("the hub's certificate is not from the pinned branch CA")
