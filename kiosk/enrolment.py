"""The kiosk's own folder and its first-start enrolment; following the hub when it moves.

The folder (default /var/lib/branch-kiosk/enrolment) holds `hub.url`, `ca.crt`, `device.crt` and
`device.key` (0600): the same files the app updater's unit reads. Enrolment is the shared one
(`branch_hub.client.enrolment_code`): the code IT typed or scanned, the CA pin from the QR or typed
beside it, the hub's address from the QR or else found by mDNS. Nothing the network says is
believed until the hub's CA matches the pin and its certificate chains to that CA.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from branch_hub.client import DeviceTls, HubClient
from branch_hub.client.discovery import find_hubs
from branch_hub.client.enrolment import hub_is_trusted
from branch_hub.client.enrolment_code import (
    EnrolmentError,
    fingerprint_of,
    parse_enrolment_code,
    request_identity,
)
from kiosk.i18n import N_, say

__all__ = ["FOLDER", "HOME", "EnrolmentError", "HubFollower", "KioskFolder", "default_home"]

log = logging.getLogger("kiosk.enrolment")
HOME = Path("/var/lib/branch-kiosk")
FOLDER = "enrolment"


def default_home() -> Path:
    """The kiosk's state folder: $BRANCH_KIOSK_HOME or /var/lib/branch-kiosk."""
    return Path(os.environ.get("BRANCH_KIOSK_HOME") or HOME)


class KioskFolder:
    """`hub.url`, `ca.crt`, `device.crt`, `device.key` under HOME/enrolment."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def under(cls, home: Path) -> KioskFolder:
        """The enrolment folder inside the kiosk's state folder."""
        return cls(home / FOLDER)

    @property
    def tls(self) -> DeviceTls:
        """The device certificate, its key and the pinned branch CA."""
        return DeviceTls(self.root / "device.crt", self.root / "device.key", self.root / "ca.crt")

    @property
    def url_path(self) -> Path:
        """The file holding the hub's address."""
        return self.root / "hub.url"

    @property
    def enrolled(self) -> bool:
        """True when the address, the CA, the certificate and the key are all there."""
        tls = self.tls
        return all(p.is_file() for p in (self.url_path, tls.ca, tls.cert, tls.key))

    def hub_url(self) -> str:
        """The saved hub address."""
        return self.url_path.read_text("utf-8").strip()

    def pinned_fingerprint(self) -> str:
        """The SHA-256 fingerprint of the CA pinned at enrolment."""
        return fingerprint_of(self.tls.ca.read_bytes())

    def save_hub_url(self, url: str) -> None:
        """Replace the hub address atomically."""
        tmp = self.url_path.with_suffix(".tmp")
        tmp.write_text(url + "\n", "utf-8")
        os.replace(tmp, self.url_path)

    def _store(self, ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        tls = self.tls
        fd = os.open(tls.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        tls.key.chmod(0o600)
        tls.cert.write_bytes(cert_pem)
        tls.ca.write_bytes(ca_pem)

    def _forget(self) -> None:
        for path in (self.tls.key, self.tls.cert, self.tls.ca, self.url_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def enrol(
        self, code_text: str, fingerprint: str = "", interfaces: list[str] | None = None
    ) -> str:
        """Enrol this kiosk; returns its device id. Raises EnrolmentError (bilingual)."""
        code = parse_enrolment_code(code_text)
        expected = code.ca_fingerprint or fingerprint.strip()
        if not expected:
            why = N_("the code carries no CA fingerprint: scan the QR, or type the fingerprint too")
            raise EnrolmentError(why, say(why, "zh"))
        hub = code.hub_url or _discover(expected, interfaces)
        name = code.device_id or f"kiosk-{socket.gethostname()}"[:64]
        answer, key_pem = request_identity(hub, code.code, expected, code.kind or "kiosk", name)
        self._store(
            answer.ca_certificate.encode("ascii"), answer.certificate.encode("ascii"), key_pem
        )
        if not hub_is_trusted(hub, self.tls):
            self._forget()
            why = N_("the hub's certificate is not from the pinned branch CA")
            raise EnrolmentError(why, say(why, "zh"))
        self.save_hub_url(hub)
        log.info("enrolled as %s with the hub at %s", answer.device_id, hub)
        return answer.device_id


def _discover(fingerprint: str, interfaces: list[str] | None) -> str:
    """The address of an advertised hub whose CA matches the pin IT gave out."""
    wanted = fingerprint.lower().replace(":", "").replace(" ", "")
    found = find_hubs(interfaces)
    for hub in found:
        if hub.ca_fingerprint.startswith(wanted):
            return hub.url
    why = N_("no hub with this CA fingerprint answered on the network ({count} other hubs)")
    raise EnrolmentError(why.format(count=len(found)), say(why, "zh").format(count=len(found)))


class HubFollower:
    """While the hub has been unreachable for `after_s`, look it up by mDNS; move if it moved.

    Only a hub advertising the pinned CA's full fingerprint is followed; the new address is saved
    in the folder and the running client talks to it from then on (its stream reconnects there).
    """

    def __init__(
        self,
        folder: KioskFolder,
        client: HubClient,
        lost_since: Callable[[], float | None],
        *,
        after_s: float = 30.0,
        interfaces: list[str] | None = None,
    ) -> None:
        self.folder = folder
        self.client = client
        self.lost_since = lost_since
        self.after_s = after_s
        self.interfaces = interfaces
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-follower", daemon=True)

    def start(self) -> HubFollower:
        """Start watching."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._thread.join(10.0)

    def look_once(self) -> str | None:
        """One lookup: the hub's new address if it moved (saved and in use), else None."""
        pinned = self.folder.pinned_fingerprint()
        for hub in find_hubs(self.interfaces):
            if hub.ca_fingerprint != pinned or hub.url == self.client.base_url:
                continue
            self.folder.save_hub_url(hub.url)
            self.client.move_to(hub.url)
            log.warning("the hub moved to %s (same branch CA): following it", hub.url)
            return hub.url
        return None

    def _run(self) -> None:
        while not self._stop.wait(min(self.after_s, 10.0)):
            since = self.lost_since()
            if since is None or time.monotonic() - since < self.after_s:
                continue
            try:
                self.look_once()
            except Exception as exc:  # keep watching: mDNS trouble must not end the kiosk
                log.warning("hub lookup failed: %s", exc)
