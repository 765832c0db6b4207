"""First start: fetch the branch CA, check it against the fingerprint, send a CSR with the code.

Wire format (proposed to H6, see docs/tablet.md): `GET /api/v1/enrol/ca` -> the CA as PEM text
(fetched before trust exists, so it is only believed after the fingerprint check), then, over
TLS verified against that CA, `POST /api/v1/enrol {"code", "csr", "kind"}` ->
`{"certificate": PEM}`. The private key never leaves the device.
"""

from __future__ import annotations

import socket
from typing import Any

import requests

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
    http = requests.Session()
    http.trust_env = False
    try:
        # Not yet trusted: the answer is believed only if it matches the fingerprint.
        answer = http.get(f"{hub}/api/v1/enrol/ca", verify=False, timeout=5)
        if answer.status_code != 200:
            raise EnrolmentError(f"the hub did not hand out its CA ({answer.status_code})")
        ca_pem = answer.content
        store.pin_ca(ca_pem, expected)
        csr_pem, key_pem = make_csr(_device_name())
        reply = http.post(
            f"{hub}/api/v1/enrol",
            json={"code": code.code, "csr": csr_pem.decode("ascii"), "kind": kind},
            verify=str(store.ca_path),
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
    cert = body.get("certificate")
    if not isinstance(cert, str):
        raise EnrolmentError("the hub's enrolment answer carries no certificate")
    store.store_identity(cert.encode("ascii"), key_pem)
    store.save_settings(hub_url=hub)
    return {"device_id": store.settings().get("device_id")}
