"""The kiosk's app updates: start the installed version, check while running, restart on attract.

The install folder is HOME/app (`versions/`, `current`, `state.json`); the release key the
kiosk trusts is /etc/branch-kiosk/release_signing.pub (or $BRANCH_KIOSK_RELEASE_KEY). The kiosk
restarts into a new version only on the attract screen, after a few seconds without a touch.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import kiosk
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
from kiosk.enrolment import KioskFolder

__all__ = [
    "APP",
    "MODULE",
    "RestartWhenIdle",
    "launch",
    "release_key_path",
    "restart",
    "running_version",
    "watch",
]

APP = AppName.KIOSK
MODULE = "kiosk.cli"
RELEASE_KEY = Path("/etc/branch-kiosk/release_signing.pub")
QUIET_S = 3.0
log = logging.getLogger("kiosk.updates")


def release_key_path() -> Path:
    """The release public key the kiosk trusts."""
    return Path(os.environ.get("BRANCH_KIOSK_RELEASE_KEY") or RELEASE_KEY)


def running_version() -> str:
    """The installed release this code runs from, else the base install's version."""
    return app_running_version(kiosk.__file__)


def _updater(folder: KioskFolder) -> AppUpdater | None:
    key_path = release_key_path()
    if not (folder.enrolled and key_path.is_file()):
        return None
    tls = folder.tls
    paths = (tls.cert, tls.key, tls.ca)
    return open_updater(APP, folder.hub_url(), folder.root.parent / "app", key_path, paths)


def launch(folder: KioskFolder) -> None:
    """At start from the base install: count the start, then run the installed version."""
    launch_installed(MODULE, folder.root.parent / "app", lambda: _updater(folder))


def watch(folder: KioskFolder) -> UpdateWatcher | None:
    """Start checking the hub's channel in the background (None: updates are off)."""
    updater = _updater(folder)
    if updater is None:
        log.info("no release key at %s: app updates are off", release_key_path())
        return None
    running = running_release(kiosk.__file__)
    return UpdateWatcher(updater, health_command(MODULE), running).start()


class RestartWhenIdle:
    """Decides when a due restart may happen: on attract, nobody touching the screen."""

    def __init__(self, watcher: UpdateWatcher) -> None:
        self.watcher = watcher
        self.last_touch = time.monotonic()

    def touched(self) -> None:
        """A finger on the screen."""
        self.last_touch = time.monotonic()

    def now(self, on_attract: bool) -> bool:
        """True when the kiosk should restart into the installed version now."""
        quiet = time.monotonic() - self.last_touch >= QUIET_S
        return self.watcher.restart_due.is_set() and on_attract and quiet
