"""`branch-provision rotate-server-cert`: a new TLS key and certificate for the hub."""

from __future__ import annotations

import argparse
import json
import os

from branch_hub.identity import server_names
from branch_hub.pki import ca_fingerprint, issue_server_cert, load_pem_pair
from branch_hub.provision.common import (
    Branch,
    add_dir_argument,
    add_name_arguments,
    check_name_arguments,
)

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rotate-server-cert`."""
    p = sub.add_parser(
        "rotate-server-cert",
        help="issue the hub a new TLS key and certificate (same CA; same or new names)",
        description="Issue the hub a new TLS key and server certificate from the branch CA, with "
        "the host names and addresses recorded at init, or those given by --host/--address "
        "(then recorded for the next rotation and for enrolment QR codes). Devices keep working "
        "(they pin the CA, not the server certificate). Restart the hub to load it.",
    )
    add_dir_argument(p)
    add_name_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Rotate the server certificate."""
    check_name_arguments(args)
    branch = Branch.load(args.dir)
    info = branch.hub_info()
    if args.host or args.address:
        info["names"], info["addresses"] = server_names(args.host, args.address)
        info["host"] = info["names"][0]
    pki = branch.pki_dir
    ca = load_pem_pair(pki / "ca.crt", pki / "ca.key")
    new = issue_server_cert(ca, info["hub_id"], info["names"], info["addresses"])
    new.save(pki / "hub.crt.new", pki / "hub.key.new")
    # Key first, then certificate: each replace is atomic, and the hub reads both at start.
    os.replace(pki / "hub.key.new", pki / "hub.key")
    os.replace(pki / "hub.crt.new", pki / "hub.crt")
    (pki / "hub.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    security = branch.security()
    try:
        security.audit.record(
            "server_cert_rotation",
            subject=info["hub_id"],
            detail={"serial": f"{new.cert.serial_number:x}"},
        )
    finally:
        security.close()
    print(f"new server certificate for {info['hub_id']} (CA {ca_fingerprint(ca.cert)[:16]}...)")
    print(f"  certificate names: {', '.join([*info['names'], *info['addresses']])}")
    print("restart the hub to use it")
    return 0
