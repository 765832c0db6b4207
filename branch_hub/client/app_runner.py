"""The running app's side of updates: start the installed version, check while running, restart.

The base install (the Debian package's venv, or the checkout) starts first: `launch_installed`
counts the start (`AppUpdater.boot_check`, which rolls back a version that keeps failing before
it confirmed health) and replaces the process with the installed version (`root/current` put in
front of PYTHONPATH). While the app runs, an `UpdateWatcher` asks the hub's channel at start and
every few hours (with jitter), installs and health-checks in the background, and marks a restart
as due; the app restarts at a safe moment with `restart`, which starts the base install again.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from branch_hub.client.bundle import MANIFEST
from branch_hub.client.updater import AppUpdater, UpdaterError, UpdateResult
from branch_hub.vocabulary import AppName

__all__ = [
    "BASE_PATH_ENV",
    "CHECK_EVERY_ENV",
    "DEFAULT_CHECK_EVERY_S",
    "KeyFileError",
    "UpdateWatcher",
    "check_every_s",
    "health_command",
    "launch_installed",
    "load_release_key",
    "open_updater",
    "restart",
    "running_release",
    "running_version",
]

log = logging.getLogger("branch.updates")

# Set by the launcher in the installed version's environment: the base install's PYTHONPATH.
BASE_PATH_ENV = "BRANCH_APP_BASE_PYTHONPATH"
CHECK_EVERY_ENV = "BRANCH_UPDATE_CHECK_S"
DEFAULT_CHECK_EVERY_S = 6 * 3600.0
JITTER = 0.1  # every check is moved by up to ±10 %, so a branch's devices do not ask at once
FIRST_CHECK_WITHIN_S = 60.0


def check_every_s() -> float:
    """Seconds between update checks: $BRANCH_UPDATE_CHECK_S, else 6 hours."""
    try:
        value = float(os.environ.get(CHECK_EVERY_ENV, ""))
    except ValueError:
        return DEFAULT_CHECK_EVERY_S
    return value if value > 0 else DEFAULT_CHECK_EVERY_S


class KeyFileError(ValueError):
    """The release key file is not an Ed25519 public key in PEM."""


def load_release_key(path: Path) -> Ed25519PublicKey:
    """Load the release-signing public key the device trusts."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise KeyFileError(f"{path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key (the release key)")
    return key


def open_updater(
    app: AppName, hub_url: str, root: Path, release_key: Path, tls: tuple[Path, Path, Path]
) -> AppUpdater | None:
    """An app's updater for this device (certificate, key, pinned CA), or None when the release
    key or the hub cannot be used: updates are then off and the app runs as it is."""
    cert, key, ca = tls
    try:
        return AppUpdater(
            hub_url,
            app,
            root,
            load_release_key(release_key),
            ca_file=str(ca),
            client_cert=(str(cert), str(key)),
        )
    except (UpdaterError, ValueError, OSError) as exc:
        log.warning("app updates are off: %s", exc)
        return None


def running_release(package_file: str) -> str | None:
    """The release version the app's code was imported from (None: the base install)."""
    folder = Path(package_file).resolve().parent.parent  # versions/<v>/<package>/<module>.py
    try:
        version = json.loads((folder / MANIFEST).read_bytes())["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(version)


def running_version(package_file: str) -> str:
    """The release the app runs from, else the base install's version (for the journal)."""
    from branch_hub import __version__

    return running_release(package_file) or f"{__version__} (base install)"


def _exec_module(module: str, env: dict[str, str]) -> NoReturn:
    # -P: never import from the working directory, only from PYTHONPATH and the install.
    argv = [sys.executable, "-P", "-m", module, *sys.argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)  # noqa: S606


def launch_installed(module: str, root: Path, updater: Callable[[], AppUpdater | None]) -> None:
    """From the base install: count this start, then become the installed version.

    Returns (and the base install runs) when already launched or when nothing is installed.
    `updater` makes the AppUpdater for the start count (None: the device cannot reach a hub).
    """
    if BASE_PATH_ENV in os.environ or not (root / "state.json").is_file():
        return
    made = updater()
    if made is not None:
        try:
            before = made.installed_version
            made.boot_check()
            if made.installed_version != before:
                back = made.installed_version or "the base install"
                log.warning("version %s kept failing at start; back to %s", before, back)
        finally:
            made.close()
    current = root / "current"
    if not current.is_dir():
        return
    env = dict(os.environ)
    base = env.get("PYTHONPATH", "")
    env[BASE_PATH_ENV] = base
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(current), base) if p)
    _exec_module(module, env)


def health_command(module: str) -> list[str]:
    """The command that checks a newly installed version of the app imports and starts."""
    return [sys.executable, "-P", "-m", module, "--self-check"]


def restart(module: str) -> NoReturn:
    """Replace this process with the base install's app, which starts the newest version."""
    env = dict(os.environ)
    base = env.pop(BASE_PATH_ENV, None)
    if base is not None:
        if base:
            env["PYTHONPATH"] = base
        else:
            env.pop("PYTHONPATH", None)
    log.info("restarting into the installed version")
    _exec_module(module, env)


class UpdateWatcher:
    """Checks the hub's channel at start and periodically; installs in the background.

    `restart_due` is set once a newer version is installed (by this watcher or by another
    updater of the same folder); the app restarts when it is safe. `screen_shown` and
    `hub_reached` together confirm the running version as healthy.
    """

    def __init__(
        self,
        updater: AppUpdater,
        health_command: list[str],
        running: str | None,
        *,
        every_s: float | None = None,
    ) -> None:
        self.updater = updater
        self.health_command = health_command
        self.running = running
        self.every_s = every_s or check_every_s()
        self.restart_due = threading.Event()
        self.last: UpdateResult | None = None
        self._stop = threading.Event()
        self._shown = False
        self._reached = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="app-updates", daemon=True)

    def start(self) -> UpdateWatcher:
        """Start checking in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking (an install under way finishes first) and close the session."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5.0)
        self.updater.close()

    def screen_shown(self) -> None:
        """The app shows its screen."""
        with self._lock:
            self._shown = True
        self._confirm()

    def hub_reached(self) -> None:
        """The app reached the hub."""
        with self._lock:
            self._reached = True
        self._confirm()

    def _confirm(self) -> None:
        with self._lock:
            ready = self._shown and self._reached
        if ready and self.running is not None:  # the base install has nothing to confirm
            self.updater.confirm_healthy(self.running)

    def _delay(self, first: bool) -> float:
        if first:
            return random.uniform(0, min(FIRST_CHECK_WITHIN_S, self.every_s))  # noqa: S311
        return self.every_s * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311

    def _run(self) -> None:
        first = True
        while not self._stop.wait(self._delay(first)):
            first = False
            self.check_once()

    def check_once(self) -> UpdateResult | None:
        """One round: check, install and health-check; mark a restart due when one is needed."""
        try:
            result = self.updater.update(self.health_command)
        except Exception as exc:  # an update problem must never stop the app
            log.warning("app update check failed: %s", exc)
            return None
        self.last = result
        self.hub_reached()
        installed = self.updater.installed_version
        if result.outcome != "up_to_date" or result.reason:
            log.info("app update: %s %s %s", result.outcome, result.version or "", result.reason)
        if installed != self.running and self.updater.current_path.is_dir():
            if not self.restart_due.is_set():
                log.info("version %s installed; restart when idle", installed)
            self.restart_due.set()
        return result
