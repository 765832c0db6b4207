"""`branch-provision devices` and `revoke`: the device registry."""

from __future__ import annotations

import argparse
import datetime as dt

from branch_hub.provision.common import Branch, ProvisionError, add_dir_argument
from branch_hub.security.errors import EnrolmentError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `devices` and `revoke`."""
    p = sub.add_parser("devices", help="list enrolled devices and pending codes")
    add_dir_argument(p)
    p.set_defaults(func=list_devices)
    p = sub.add_parser(
        "revoke",
        help="revoke a device (a running hub closes its connections within a second)",
    )
    add_dir_argument(p)
    p.add_argument("device", help="device id")
    p.set_defaults(func=revoke)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M")


def list_devices(args: argparse.Namespace) -> int:
    """Print the registry."""
    security = Branch.load(args.dir).security()
    try:
        print(f"{'DEVICE':<12} {'KIND':<8} {'STATE':<8} {'ENROLLED':<17} CERT EXPIRES")
        for d in security.devices.list():
            state = "active" if d.active else "revoked"
            print(
                f"{d.device_id:<12} {d.kind:<8} {state:<8} {_when(d.enrolled_at):<17} "
                f"{d.not_after[:10]}"
            )
        for device_id, kind, expires in security.codes.pending():
            print(f"{device_id:<12} {kind:<8} {'pending':<8} code valid until {_when(expires)}")
    finally:
        security.close()
    return 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke one device."""
    security = Branch.load(args.dir).security()
    try:
        try:
            device = security.devices.revoke(args.device)
        except EnrolmentError as exc:
            raise ProvisionError(str(exc)) from None
        security.audit.record("revocation", subject=device.device_id, detail={"by": "provision"})
    finally:
        security.close()
    print(f"device {device.device_id} revoked")
    return 0
