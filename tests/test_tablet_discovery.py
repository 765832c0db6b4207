"""The tablet and the kiosk find the hub by mDNS and follow it to a new address, in a private netns.

Both sides use only 127.0.0.1 inside a network namespace this test creates, so nothing is
multicast on the machine's real interfaces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.netns
REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys
from pathlib import Path
from branch_hub.discovery import HubAdvert, HubAdvertiser
from tablet.device import DeviceStore
from tablet.discovery import find_hubs, follow_hub

fp = "ab" * 32
advert = HubAdvert("BJ-CY-0105", "hub-1", fp, 8443, ("127.0.0.1",))
adv = HubAdvertiser(advert, ["127.0.0.1"])
try:
    found = find_hubs(["127.0.0.1"], 3.0)
    store = DeviceStore(Path(sys.argv[1]))
    store.save_settings(hub_url="https://10.9.9.9:8443", ca_fingerprint=fp)
    moved = follow_hub(store, ["127.0.0.1"], 3.0)
    store.save_settings(ca_fingerprint="cd" * 32)
    other = follow_hub(store, ["127.0.0.1"], 3.0)
finally:
    adv.close()
print(json.dumps({"found": [h.__dict__ for h in found], "moved": moved, "other": other}))
"""


MOVED = r"""
import json, shutil, sys, time
from pathlib import Path
from branch_hub.client import HubClient
from branch_hub.discovery import HubAdvert, HubAdvertiser
from branch_hub.pki import ca_fingerprint
from kiosk.enrolment import HubFollower, KioskFolder
from tablet.controller import Tablet
from tablet.device import DeviceStore
from tests.support.tlsenv import make_tls_env

root = Path(sys.argv[1])
tls = make_tls_env(root / "pki")
fp = ca_fingerprint(tls.ca.cert)
gone, moved = "https://127.0.0.1:1", "https://127.0.0.1:8443"

def identity(folder, device_id, kind):
    folder.mkdir(parents=True)
    cert, key = tls.client(device_id, kind)
    shutil.copy(cert, folder / "device.crt")
    shutil.copy(key, folder / "device.key")
    shutil.copy(tls.ca_path, folder / "ca.crt")

identity(root / "tablet", "T1", "tablet")
store = DeviceStore(root / "tablet")
store.save_settings(hub_url=gone, ca_fingerprint=fp)
now = [1000.0]
tablet = Tablet(store, clock=lambda: now[0])
identity(root / "kiosk" / "enrolment", "K1", "kiosk")
folder = KioskFolder.under(root / "kiosk")
folder.save_hub_url(gone)
kiosk_client = HubClient(gone, folder.tls)
follower = HubFollower(folder, kiosk_client, lambda: 0.0, interfaces=["127.0.0.1"])

def settle(until):
    for _ in range(400):
        tablet.pump()
        if until():
            return True
        time.sleep(0.02)
    return False

adv = HubAdvertiser(HubAdvert("BJ-CY-0105", "hub-1", fp, 8443, ("127.0.0.1",)), ["127.0.0.1"])
try:
    tablet.login("S-1", "000000")  # the hub is gone: unreachable
    settle(lambda: not tablet.busy)
    early = tablet.follower.running  # not yet: unreachable only just now
    now[0] += 31
    settle(lambda: tablet.client is not None and tablet.client.base_url == moved)
    kiosk_moved = follower.look_once()
finally:
    adv.close()
other = HubAdvert("BJ-CY-0105", "hub-2", "cd" * 32, 9443, ("127.0.0.1",))
adv = HubAdvertiser(other, ["127.0.0.1"])
try:
    kiosk_client.move_to(gone)
    kiosk_other = follower.look_once()
finally:
    adv.close()
print(json.dumps({
    "early": early,
    "tablet_client": tablet.client.base_url if tablet.client else None,
    "tablet_saved": store.settings().get("hub_url"),
    "kiosk_moved": kiosk_moved, "kiosk_saved": folder.hub_url(),
    "kiosk_other": kiosk_other, "kiosk_client": kiosk_client.base_url,
}))
"""


def test_tablet_and_kiosk_follow_a_moved_hub_with_the_pinned_ca(netns: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", MOVED, str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    moved = "https://127.0.0.1:8443"
    assert result["early"] is False
    assert (result["tablet_client"], result["tablet_saved"]) == (moved, moved)
    assert (result["kiosk_moved"], result["kiosk_saved"]) == (moved, moved)
    assert result["kiosk_other"] is None  # another CA is never followed
    assert result["kiosk_client"] == "https://127.0.0.1:1"


FIRST = r"""
import json, sys
from pathlib import Path
from branch_hub.discovery import HubAdvert, HubAdvertiser
from branch_hub.pki import ca_fingerprint
from kiosk.enrolment import KioskFolder
from tests.support.hub_thread import ThreadedHub
from tests.support.tlsenv import make_tls_env

root = Path(sys.argv[1])
hub = ThreadedHub(root / "data", make_tls_env(root / "pki")).start()
fp = ca_fingerprint(hub.tls.ca.cert)
advert = HubAdvert("BJ-CY-0105", "hub-1", fp, hub.port, ("127.0.0.1",))
adv = HubAdvertiser(advert, ["127.0.0.1"])
try:
    code = hub.hub.security.codes.create("K1", "kiosk")
    folder = KioskFolder.under(root / "kiosk")
    device = folder.enrol(code, fp[:16])  # typed: the code and the fingerprint, no address
    print(json.dumps({"device": device, "url": folder.hub_url(), "hub": hub.url}))
finally:
    adv.close()
    hub.close()
"""


def test_a_kiosk_given_only_the_code_finds_the_hub_by_mdns(netns: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", FIRST, str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["device"] == "K1"
    assert result["url"] == result["hub"]


@pytest.fixture
def netns() -> Iterator[str]:
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("network namespaces need root and iproute2")
    name = f"h8tab{os.getpid()}"
    done = subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"'ip netns add' failed: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def test_find_the_hub_and_follow_it_only_with_the_pinned_ca(netns: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", CHILD, str(tmp_path / "app")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["found"] == [
        {
            "url": "https://127.0.0.1:8443",
            "branch_id": "BJ-CY-0105",
            "hub_id": "hub-1",
            "ca_fingerprint": "ab" * 32,
        }
    ]
    assert result["moved"] == "https://127.0.0.1:8443"
    assert result["other"] is None  # another CA: not followed
