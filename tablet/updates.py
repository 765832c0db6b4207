"""The tablet's app updates: start the installed version, check while running, restart when free.

Needs an enrolled device and the release public key pinned as `release.pub` in the app folder
(copied at enrolment by IT). The install folder is the app folder's `app/`. A new version is
started only when no staff member is logged in (at once on the login screen, or at logout).
"""

from __future__ import annotations

import logging
from pathlib import Path

import tablet
from branch_hub.client import AppName
from branch_hub.client.app_runner import (
    UpdateWatcher,
    health_command,
    launch_installed,
    open_updater,
    restart,
    running_release,
)
from branch_hub.client.app_runner import (
    running_version as app_running_version,
)
from branch_hub.client.updater import AppUpdater
from tablet.device import DeviceStore

__all__ = ["APP_NAME", "MODULE", "launch", "restart", "running_version", "watch"]

APP_NAME = AppName.TABLET
MODULE = "tablet.cli"
log = logging.getLogger("tablet.updates")


def install_root(store: DeviceStore) -> Path:
    """The app store's install folder on this tablet."""
    return store.root / "app"


def running_version() -> str:
    """The installed release this code runs from, else the base install's version."""
    return app_running_version(tablet.__file__)


def _updater(store: DeviceStore) -> AppUpdater | None:
    release_pub = store.root / "release.pub"
    hub = store.settings().get("hub_url")
    if not (store.enrolled and hub and release_pub.is_file()):
        return None
    tls = (store.cert_path, store.key_path, store.ca_path)
    return open_updater(APP_NAME, str(hub), install_root(store), release_pub, tls)


def launch(store: DeviceStore) -> None:
    """At start from the base install: count the start, then run the installed version."""
    launch_installed(MODULE, install_root(store), lambda: _updater(store))


def watch(store: DeviceStore) -> UpdateWatcher | None:
    """Start checking the hub's channel in the background (None: updates are off)."""
    updater = _updater(store)
    if updater is None:
        return None
    running = running_release(tablet.__file__)
    return UpdateWatcher(updater, health_command(MODULE), running).start()
