"""The device side of the app store: check, download, verify, install, health-check, roll back.

The kiosk and tablet apps call `AppUpdater.update(...)`; it talks to the hub through
`HubClient` and checks bundles with `branch_hub.client.bundle`. Install layout under `root`:
`versions/<version>/` (the app's wheels installed with `pip install --target`), `current`
(a symlink switched atomically) and `state.json` (current and previous version). A version
whose health check fails after start is rolled back to the previous one and reported.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from branch_hub.client._device_models import AppOffer
from branch_hub.client._errors import HubError, HubProtocolError
from branch_hub.client._requests import ReportRequest
from branch_hub.client._rest import HubClient
from branch_hub.client._tls import DeviceTls
from branch_hub.client.bundle import MANIFEST, SIGNATURE, Manifest, Refused, verify_bundle
from branch_hub.vocabulary import AppName

__all__ = ["AppUpdater", "Offer", "UpdateResult", "UpdaterError"]

MAX_FILE = 512 * 1024 * 1024
Offer = AppOffer  # what the hub offers this device on its channel


class UpdaterError(Exception):
    """The update could not run (hub unreachable, install failed); nothing was switched."""


@dataclass
class UpdateResult:
    """What an update attempt did."""

    outcome: str  # up_to_date | installed | rolled_back | refused | skipped
    version: str | None = None
    reason: str = ""
    detail: str = ""
    log: list[str] = field(default_factory=list)


class AppUpdater:
    """Keeps one app on a device at the version its channel offers."""

    def __init__(
        self,
        hub_url: str,
        app: AppName,
        root: Path,
        release_key: Ed25519PublicKey,
        *,
        ca_file: str,
        client_cert: tuple[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if client_cert is None:
            raise UpdaterError("app updates need this device's enrolled certificate and key")
        self.app = app
        self.root = root
        self.release_key = release_key
        try:
            tls = DeviceTls(Path(client_cert[0]), Path(client_cert[1]), Path(ca_file))
            # The branch CA pinned at enrolment is the only trust anchor, as for every hub call.
            self.client = HubClient(hub_url, tls, timeout_s=timeout_s)
        except HubError as exc:
            raise UpdaterError(str(exc)) from exc
        root.mkdir(parents=True, exist_ok=True)

    # ---- state -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads((self.root / "state.json").read_text())
        except (OSError, ValueError):
            return {"current": None, "previous": None}
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        tmp = self.root / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.root / "state.json")

    @property
    def installed_version(self) -> str | None:
        """The version `current` points at (None before the first install)."""
        value = self._state().get("current")
        return str(value) if value else None

    @property
    def current_path(self) -> Path:
        """The folder of the running version (a symlink)."""
        return self.root / "current"

    def _switch(self, version: str) -> None:
        link = self.root / "current.tmp"
        link.unlink(missing_ok=True)
        link.symlink_to(Path("versions") / version)
        os.replace(link, self.current_path)  # rename(2) swaps the link atomically

    # ---- hub ---------------------------------------------------------------------------
    def check(self) -> Offer | None:
        """Ask the hub what this device's channel offers; None when nothing is published."""
        try:
            return self.client.app_offer(self.app)
        except HubProtocolError as exc:
            raise UpdaterError("the hub's offer is malformed") from exc
        except HubError as exc:
            raise UpdaterError(f"hub unreachable or refusing: {exc}") from exc

    def download(self, offer: Offer) -> Path:
        """Download an offered bundle into downloads/<version>/ (fresh each time)."""
        folder = self.root / "downloads" / offer.version
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name in offer.files:
            if "/" in name or name.startswith("."):
                raise Refused("malformed", f"the hub offered an unsafe file name {name!r}")
            try:
                self.client.download_release(self.app, offer.version, name, folder / name, MAX_FILE)
            except HubProtocolError as exc:
                raise Refused("tampered", str(exc)) from exc
            except HubError as exc:
                raise UpdaterError(f"download of {name} failed: {exc}") from exc
        return folder

    def report(self, event: str, version: str | None, reason: str = "", detail: str = "") -> bool:
        """Tell the hub what happened (installed, refused, rolled_back); False if it is away."""
        try:
            report = ReportRequest.bounded(event, version, reason, detail)
            self.client.report_update(self.app, report)
        except HubError:
            return False
        return True

    # ---- install -----------------------------------------------------------------------
    def verify(self, folder: Path, hub_version: str | None = None) -> Manifest:
        """Verify a bundle folder for this app and device (Refused says why not)."""
        return verify_bundle(
            folder,
            self.release_key,
            app=self.app,
            installed_version=self.installed_version,
            hub_version=hub_version,
        )

    def install(self, folder: Path, manifest: Manifest) -> None:
        """Install a verified bundle's wheels into versions/<v>/ and make it current."""
        target = self.root / "versions" / manifest.version
        staging = self.root / "versions" / f".{manifest.version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        wheels = [str(folder / n) for n in manifest.files if n.endswith(".whl")]
        if not wheels:
            raise Refused("malformed", "the bundle holds no wheel")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
             "--disable-pip-version-check", "--target", str(staging), *wheels],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise UpdaterError(f"pip could not install the wheels: {proc.stderr.strip()[-300:]}")
        shutil.copy2(folder / MANIFEST, staging / MANIFEST)
        shutil.copy2(folder / SIGNATURE, staging / SIGNATURE)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        state = self._state()
        previous = state.get("current")
        self._switch(manifest.version)
        self._save_state(
            {
                "current": manifest.version,
                "previous": previous,
                "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )

    def rollback(self) -> str | None:
        """Switch back to the previous version; return it (None: back to the base install)."""
        state = self._state()
        previous = state.get("previous")
        if not previous or not (self.root / "versions" / str(previous)).is_dir():
            # The first installed version failed: no `current`, the base install runs again.
            self.current_path.unlink(missing_ok=True)
            previous = None
        else:
            self._switch(str(previous))
        self._save_state({"current": previous, "previous": None, "rolled_back": state["current"]})
        return None if previous is None else str(previous)

    def health_check(self, command: list[str], timeout_s: float = 60.0) -> tuple[bool, str]:
        """Start the current version's health command; healthy means exit status 0 in time."""
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.current_path.resolve())
        env["BRANCH_APP_VERSION"] = self.installed_version or ""
        try:
            proc = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return False, f"no healthy answer within {timeout_s:g} s"
        except OSError as exc:
            return False, f"cannot start the health check: {exc.strerror}"
        if proc.returncode != 0:
            return False, f"exit status {proc.returncode}: {proc.stderr.strip()[-300:]}"
        return True, "healthy"

    @contextlib.contextmanager
    def _only_one(self) -> Iterator[bool]:
        """Hold the install folder's lock (False: another updater is at work on it)."""
        with (self.root / ".lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def update(self, health_command: list[str], health_timeout_s: float = 60.0) -> UpdateResult:
        """Check, download, verify, install and health-check; roll back and report on failure."""
        with self._only_one() as mine:
            if not mine:
                return UpdateResult("skipped", self.installed_version, "another_update_running")
            return self._update(health_command, health_timeout_s)

    def _update(self, health_command: list[str], health_timeout_s: float) -> UpdateResult:
        offer = self.check()
        if offer is None or offer.version == self.installed_version:
            return UpdateResult("up_to_date", self.installed_version)
        if offer.version == self._state().get("rolled_back"):
            # Not again: it failed here once; wait for a fixed, higher version.
            return UpdateResult("skipped", offer.version, "previously_rolled_back")
        try:
            folder = self.download(offer)
            manifest = self.verify(folder, hub_version=offer.hub_version)
            self.install(folder, manifest)
        except Refused as exc:
            self.report("refused", offer.version, exc.reason, str(exc))
            return UpdateResult("refused", offer.version, exc.reason, str(exc))
        healthy, detail = self.health_check(health_command, health_timeout_s)
        if healthy:
            state = self._state()
            state["unconfirmed"], state["boot_attempts"] = manifest.version, 0
            self._save_state(state)
            self.report("installed", manifest.version)
            return UpdateResult("installed", manifest.version, detail=detail)
        back = self.rollback()
        self.report("rolled_back", manifest.version, "health_check_failed", detail)
        return UpdateResult(
            "rolled_back", back, "health_check_failed", f"{manifest.version}: {detail}"
        )

    def boot_check(self, max_unconfirmed_starts: int = 2) -> str | None:
        """Call first thing at app start: a new version that keeps failing before it confirms
        health (`confirm_healthy`) is rolled back and reported; returns the version rolled
        back to (restart the app then), else None."""
        state = self._state()
        version = state.get("unconfirmed")
        if not version:
            return None
        attempts = int(state.get("boot_attempts", 0)) + 1
        if attempts <= max_unconfirmed_starts:
            state["boot_attempts"] = attempts
            self._save_state(state)
            return None
        back = self.rollback()
        self.report(
            "rolled_back",
            str(version),
            "crashed_after_start",
            f"{attempts - 1} starts without confirming health",
        )
        return back

    def confirm_healthy(self, running: str | None = None) -> None:
        """Call once the app runs well (hub reached, screen shown): the version is kept.

        `running` is the version that runs; an older one cannot vouch for a new install.
        """
        state = self._state()
        if running is not None and state.get("unconfirmed") != running:
            return
        if state.pop("unconfirmed", None) is not None:
            state.pop("boot_attempts", None)
            self._save_state(state)

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()
