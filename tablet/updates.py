"""App updates: ask the hub's app channel for a newer signed version (`branch_hub.client.updater`)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from tablet.device import DeviceStore

__all__ = ["APP_NAME", "check_for_update", "restart_into"]

APP_NAME = "branch-tablet"
log = logging.getLogger("tablet.updates")


def check_for_update(store: DeviceStore) -> str:
    """Check, download, verify and install a newer version; return the outcome word.

    Needs an enrolled device and the release public key pinned as `release.pub` in the app
    folder (copied at enrolment by IT). Any failure leaves the running version in place.
    """
    release_pub = store.root / "release.pub"
    hub = store.settings().get("hub_url")
    if not (store.enrolled and hub and release_pub.is_file()):
        return "skipped"
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        from branch_hub.client.updater import AppUpdater
    except ImportError:  # cryptography is not shipped in this build
        return "unavailable"
    key = load_pem_public_key(release_pub.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        log.warning("release.pub is not an Ed25519 public key; updates disabled")
        return "refused"
    updater = AppUpdater(
        str(hub),
        APP_NAME,
        store.root / "app",
        key,
        ca_file=str(store.ca_path),
        client_cert=(str(store.cert_path), str(store.key_path)),
    )
    try:
        result = updater.update([sys.executable, "-m", "tablet.cli", "--self-check"])
    except Exception as exc:  # an update problem must never stop the app
        log.warning("app update check failed: %s", type(exc).__name__)
        return "failed"
    if result.outcome == "installed":
        restart_into(updater.current_path)
    return result.outcome


def restart_into(folder: Path) -> None:
    """Replace this process with the app from `folder` (the installed version's wheels)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    os.execve(sys.executable, [sys.executable, "-m", "tablet.cli", *sys.argv[1:]], env)  # noqa: S606
