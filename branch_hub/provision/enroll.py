"""`branch-provision enroll`: a one-time enrolment code, as text and as a QR PNG."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography import x509

from branch_hub.config import StationRole
from branch_hub.identity import url_host_covered
from branch_hub.pki import ca_fingerprint, load_pem_pair
from branch_hub.provision.common import Branch, ProvisionError, add_dir_argument
from branch_hub.security.enrolment import CODE_TTL_S
from branch_hub.security.errors import EnrolmentError
from branch_hub.security.roles import DEVICE_KINDS

__all__ = ["default_hub_url", "enrolment_uri", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `enroll`."""
    p = sub.add_parser(
        "enroll",
        help="make a one-time enrolment code for a device (text + QR PNG)",
        description="Make a one-time enrolment code (single use, valid 10 minutes) for one device. "
        "The QR also carries the hub's address and the branch CA fingerprint, which the device "
        "pins. A kiosk's name must be its station id from hub.toml.",
    )
    add_dir_argument(p)
    p.add_argument("--kind", required=True, choices=sorted(DEVICE_KINDS))
    p.add_argument("--name", required=True, help="device id, e.g. K1 or TAB-03")
    p.add_argument("--hub-url", default="", help="address devices use (default from init)")
    p.add_argument("--qr", type=Path, default=None, help="QR PNG path (default DIR/enrol-NAME.png)")
    p.add_argument(
        "--replace", action="store_true", help="allow re-enrolling an active device of that id"
    )
    p.set_defaults(func=run)


def enrolment_uri(hub_url: str, ca_fp: str, code: str, device_id: str, kind: str) -> str:
    """The text in the enrolment QR."""
    query = urlencode({"hub": hub_url, "ca": ca_fp, "code": code, "id": device_id, "kind": kind})
    return f"branchedge://enrol?{query}"


def default_hub_url(info: dict[str, Any]) -> str:
    """The hub address for the QR: a LAN address the certificate carries, else its NAME.local
    name (mDNS), else its first name; always one the hub's certificate covers."""
    lan = [a for a in info.get("addresses", []) if not ipaddress.ip_address(a).is_loopback]
    mdns = [n for n in info.get("names", []) if n.endswith(".local")]
    host = (lan or mdns or info.get("names") or [f"{info['host']}.local"])[0]
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{info['port']}"


def _covered_hub_url(branch: Branch, asked: str) -> str:
    hub_url = asked or default_hub_url(branch.hub_info())
    hub_cert = x509.load_pem_x509_certificate((branch.pki_dir / "hub.crt").read_bytes())
    if not url_host_covered(hub_url, hub_cert):
        raise ProvisionError(
            f"the hub's certificate does not cover {urlsplit(hub_url).hostname!r} (devices would "
            "refuse it); add it with 'branch-provision rotate-server-cert --host/--address'"
        )
    return hub_url


def run(args: argparse.Namespace) -> int:
    """Create and show the code."""
    branch = Branch.load(args.dir)
    kiosks = [s.id for s in branch.config.stations if s.role is StationRole.KIOSK]
    if args.kind == "kiosk" and args.name not in kiosks:
        known = ", ".join(kiosks) or "none"
        raise ProvisionError(
            f"a kiosk's name must be a kiosk station id from hub.toml (stations: {known})"
        )
    hub_url = _covered_hub_url(branch, args.hub_url)
    security = branch.security()
    try:
        try:
            existing = security.devices.get(args.name)
        except EnrolmentError:
            existing = None
        if existing is not None and existing.active and not args.replace:
            raise ProvisionError(
                f"device {args.name} is enrolled and active; pass --replace to re-enrol it "
                "(its current certificate stops working when the new one is issued)"
            )
        try:
            code = security.codes.create(args.name, args.kind)
        except EnrolmentError as exc:
            raise ProvisionError(str(exc)) from None
        security.audit.record("enrolment_code", subject=args.name, detail={"kind": args.kind})
    finally:
        security.close()
    ca = load_pem_pair(branch.pki_dir / "ca.crt", branch.pki_dir / "ca.key")
    fp = ca_fingerprint(ca.cert)
    uri = enrolment_uri(hub_url, fp, code, args.name, args.kind)
    qr_path: Path = args.qr or args.dir / f"enrol-{args.name}.png"
    import qrcode

    qrcode.make(uri).save(str(qr_path))
    until = dt.datetime.now().astimezone() + dt.timedelta(seconds=CODE_TTL_S)
    print(f"enrolment code for {args.kind} {args.name}: {code}")
    print(f"  valid until {until:%H:%M:%S} (once)")
    print(f"  hub: {hub_url}")
    print(f"  CA fingerprint: {fp}")
    print(f"  QR: {qr_path}")
    if args.kind == "display":  # a browser cannot enrol itself: the TV's PC does it for it
        print(
            f"  on the TV's PC: branch-display setup --home /var/lib/branch-display --code {code} "
            f"--hub {hub_url} --fingerprint {fp} --name {args.name} "
            "--policy-dir /etc/chromium/policies/managed"
        )
    return 0
