"""The tablet finds the hub by mDNS and follows it to a new address, inside a private netns.

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
