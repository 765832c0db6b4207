"""mDNS discovery inside network namespaces this test creates (never on the machine's interfaces)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from branch_hub.client.discovery import DiscoveryError, HubAdvert, accept_rediscovery
from tests.support.hubkit import provision

pytestmark = pytest.mark.netns

FP = "ab" * 32
ADVERTISE = """
import sys, time
from branch_hub.discovery import HubAdvert, HubAdvertiser
iface = sys.argv[1]
advert = HubAdvert("SH-PD-0001", "SH-PD-0001-hub", "{fp}", 8443, ("10.77.0.1",))
a = HubAdvertiser(advert, [iface], host="hubtest")
print("ready", flush=True)
sys.stdin.read()
a.close()
""".replace("{fp}", FP)
BROWSE = """
import json, sys
from branch_hub.client.discovery import browse
print(json.dumps([a.__dict__ for a in browse([sys.argv[1]], float(sys.argv[2]))]))
"""


def _netns_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CAP_SYS_ADMIN); not available here"
    if not shutil.which("ip"):
        return "iproute2 'ip' is not installed"
    probe = f"h6probe{os.getpid()}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)
    if done.returncode != 0:
        return f"'ip netns add' failed: {done.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False)
    return None


@dataclass
class Pair:
    """Two namespaces joined by a veth pair: hub side 10.77.0.1, device side 10.77.0.2."""

    hub_ns: str
    dev_ns: str
    dev_if: str


@pytest.fixture
def pair() -> Iterator[Pair]:
    reason = _netns_unavailable()
    if reason:
        pytest.skip(reason)
    tag = f"{os.getpid() % 100000}"
    hub_ns, dev_ns = f"beh{tag}", f"bed{tag}"
    hub_if, dev_if = f"beh{tag}v", f"bed{tag}v"
    steps = [
        ["ip", "netns", "add", hub_ns],
        ["ip", "netns", "add", dev_ns],
        ["ip", "link", "add", hub_if, "type", "veth", "peer", "name", dev_if],
        ["ip", "link", "set", hub_if, "netns", hub_ns],
        ["ip", "link", "set", dev_if, "netns", dev_ns],
        ["ip", "-n", hub_ns, "addr", "add", "10.77.0.1/24", "dev", hub_if],
        ["ip", "-n", dev_ns, "addr", "add", "10.77.0.2/24", "dev", dev_if],
        ["ip", "-n", hub_ns, "link", "set", hub_if, "up"],
        ["ip", "-n", dev_ns, "link", "set", dev_if, "up"],
        ["ip", "-n", hub_ns, "link", "set", "lo", "up"],
        ["ip", "-n", dev_ns, "link", "set", "lo", "up"],
    ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield Pair(hub_ns, dev_ns, dev_if)
    finally:
        for ns in (hub_ns, dev_ns):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def _in_ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


@pytest.fixture
def advertised(pair: Pair) -> Iterator[Pair]:
    proc = subprocess.Popen(
        _in_ns(pair.hub_ns, sys.executable, "-c", ADVERTISE, "10.77.0.1"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield pair
    finally:
        proc.communicate("", timeout=10)


def _browse(pair: Pair, timeout_s: float = 3.0) -> list[dict[str, object]]:
    done = subprocess.run(
        _in_ns(pair.dev_ns, sys.executable, "-c", BROWSE, "10.77.0.2", str(timeout_s)),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_device_finds_the_hub_with_its_txt_record(advertised: Pair) -> None:
    found = _browse(advertised)
    assert len(found) == 1
    hub = found[0]
    assert hub["branch_id"] == "SH-PD-0001"
    assert hub["hub_id"] == "SH-PD-0001-hub"
    assert hub["ca_fingerprint"] == FP
    assert hub["api_version"] == "1"
    assert hub["port"] == 8443
    assert hub["addresses"] == ["10.77.0.1"]


def test_advertising_only_on_the_given_interface(pair: Pair) -> None:
    # Bound to the hub namespace's loopback only: nothing reaches the veth.
    proc = subprocess.Popen(
        _in_ns(pair.hub_ns, sys.executable, "-c", ADVERTISE, "127.0.0.1"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        assert _browse(pair, 2.0) == []
    finally:
        proc.communicate("", timeout=10)


AVAHI_CONF = """[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces={iface}
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
"""
# In a private mount namespace: a private /run for dbus and avahi (no clash with the host's).
AVAHI_SCRIPT = """set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus /run/avahi-daemon
dbus-daemon --system --fork --nopidfile --print-pid=3 3>"$1/dbus.pid"
avahi-daemon -f "$1/avahi.conf" --no-chroot --no-drop-root -D
trap 'avahi-daemon -k || true; kill "$(cat "$1/dbus.pid")" || true' EXIT
# -t stops at "all for now", which a freshly started daemon may reach before the answer: retry.
for i in 1 2 3 4 5 6 7 8 9 10; do
  sleep 0.5
  out="$(timeout 10 avahi-browse -rtp _branchhub._tcp || true)"
  case "$out" in *"
="*|"="*) break ;; esac
done
printf '%s\n' "$out"
"""


def test_avahi_browse_sees_the_advertisement(advertised: Pair, tmp_path: Path) -> None:
    for tool in ("avahi-daemon", "avahi-browse", "dbus-daemon", "unshare"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (./run bootstrap installs avahi-utils)")
    (tmp_path / "avahi.conf").write_text(AVAHI_CONF.format(iface=advertised.dev_if))
    (tmp_path / "browse.sh").write_text(AVAHI_SCRIPT)
    done = subprocess.run(
        _in_ns(
            advertised.dev_ns,
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            str(tmp_path / "browse.sh"),
            str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    resolved = [line for line in done.stdout.splitlines() if line.startswith("=")]
    assert resolved, done.stdout + done.stderr
    fields = resolved[0].split(";")
    assert fields[3] == "SH-PD-0001-hub"
    assert fields[7] == "10.77.0.1"
    assert fields[8] == "8443"
    assert f'"ca={FP}"' in fields[9]
    assert '"branch=SH-PD-0001"' in fields[9]
    assert '"api=1"' in fields[9]


def test_rediscovery_updates_only_the_address() -> None:
    pinned = HubAdvert("B1", "B1-hub", FP, 8443, ("10.0.0.5",))
    moved = HubAdvert("B1", "B1-hub", FP, 9443, ("10.0.0.9",))
    assert accept_rediscovery(pinned, moved).addresses == ("10.0.0.9",)
    impostor = HubAdvert("B1", "B1-hub", "cd" * 32, 8443, ("10.0.0.66",))
    with pytest.raises(DiscoveryError, match="different CA"):
        accept_rediscovery(pinned, impostor)


@pytest.mark.parametrize(
    "setting",
    ['mdns_interfaces = ["10.77.0.1"]', "# mdns is on by default, where the hub listens"],
    ids=["configured", "default"],
)
def test_running_hub_advertises_on_its_configured_interface(
    pair: Pair, tmp_path: Path, sample_config_path: Path, setting: str
) -> None:
    text = sample_config_path.read_text(encoding="utf-8")
    text = text.replace("staff_idle_timeout_s = 900", f"staff_idle_timeout_s = 900\n{setting}")
    config = tmp_path / "hub.toml"
    config.write_text(text, encoding="utf-8")
    provision(tmp_path / "var")
    hub = shutil.which("branch-hub", path=str(Path(sys.executable).parent))
    assert hub is not None
    proc = subprocess.Popen(
        _in_ns(pair.hub_ns, hub, "--config", str(config), "--listen", "10.77.0.1:0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line
        port = int(line.rsplit(":", 1)[1])
        found = _browse(pair)
        assert [(h["branch_id"], h["port"]) for h in found] == [("BJ-CY-0105", port)]
        ca = (tmp_path / "var" / "pki" / "ca.crt").read_bytes()
        from cryptography import x509

        from branch_hub.pki import ca_fingerprint

        assert found[0]["ca_fingerprint"] == ca_fingerprint(x509.load_pem_x509_certificate(ca))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
