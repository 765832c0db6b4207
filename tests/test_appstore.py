"""The private app store: signed bundles, refusals, channels, install, health check and rollback."""

from __future__ import annotations

import ast
import asyncio
import base64
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_hub.api import create_app
from branch_hub.api.serve import hub_ssl_context
from branch_hub.appstore import Refused, verify_bundle
from branch_hub.appstore.store import AppStore
from branch_hub.client.updater import AppUpdater
from branch_hub.provision.cli import main as provision
from sync.keys import load_signing_private, load_signing_public, write_key_pair
from tests.support.hubkit import open_hub
from tests.support.lobbyenv import branch_config
from tests.support.tlsenv import make_tls_env
from tests.support.wheels import make_wheel

HEALTH = [sys.executable, "-c", "import demoapp, sys; sys.exit(demoapp.health())"]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    write_key_pair("hq", tmp_path / "release.key", tmp_path / "release.pub")
    return tmp_path / "release.key", tmp_path / "release.pub"


def release(tmp: Path, key: Path, version: str, *, app: str = "kiosk", healthy: bool = True,
            min_hub: str = "0.1") -> Path:  # fmt: skip
    wheels = tmp / f"wheels-{version}"
    make_wheel(wheels, version, healthy)
    code = provision(
        ["release", "--app", app, "--version", version, "--signing-key", str(key),
         "--out", str(tmp / "releases"), "--wheels", str(wheels), "--min-hub-version", min_hub]
    )  # fmt: skip
    assert code == 0
    return tmp / "releases" / f"{app}-{version}"


def test_release_from_source_is_signed_and_verifies(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    src = tmp_path / "src"
    (src / "demoapp").mkdir(parents=True)
    (src / "demoapp" / "__init__.py").write_text("def health():\n    return 0\n")
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "demoapp"\nversion = "3.1"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "branch_hub.provision.cli", "release", "--app", "tablet",
         "--version", "3.1", "--signing-key", str(keys[0]), "--out", str(tmp_path / "out"),
         "--source", str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    bundle = tmp_path / "out" / "tablet-3.1"
    man = verify_bundle(bundle, load_signing_public(keys[1]), app="tablet")
    assert man.version == "3.1"
    assert [n for n in man.files if n.endswith(".whl")] == ["demoapp-3.1-py3-none-any.whl"]


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ("edit_wheel", "tampered"),
        ("extra_file", "tampered"),
        ("remove_wheel", "tampered"),
        ("edit_manifest", "bad_signature"),
        ("unsigned", "unsigned"),
        ("other_key", "bad_signature"),
        ("older", "older"),
        ("same", "older"),
        ("wrong_app", "wrong_app"),
        ("hub_too_old", "hub_too_old"),
    ],
)
def test_refusals(tmp_path: Path, keys: tuple[Path, Path], spoil: str, reason: str) -> None:
    public = load_signing_public(keys[1])
    bundle = release(tmp_path, keys[0], "2.0", min_hub="0.5" if spoil == "hub_too_old" else "0.1")
    wheel = bundle / "demoapp-2.0-py3-none-any.whl"
    opts: dict[str, str] = {}
    if spoil == "edit_wheel":
        wheel.write_bytes(wheel.read_bytes() + b"\0")
    elif spoil == "extra_file":
        (bundle / "evil.whl").write_bytes(b"x")
    elif spoil == "remove_wheel":
        wheel.unlink()
    elif spoil == "edit_manifest":
        man = bundle / "manifest.json"
        man.write_text(man.read_text().replace('"2.0"', '"2.1"'))
    elif spoil == "unsigned":
        (bundle / "manifest.sig").unlink()
    elif spoil == "other_key":
        write_key_pair("hq", tmp_path / "other.key", tmp_path / "other.pub")
        sig = load_signing_private(tmp_path / "other.key").sign(
            b"branch-edge/v1 release\x00" + (bundle / "manifest.json").read_bytes()
        )
        (bundle / "manifest.sig").write_text(base64.b64encode(sig).decode())
    elif spoil == "older":
        opts["installed_version"] = "2.0.1"
    elif spoil == "same":
        opts["installed_version"] = "2.0"
    elif spoil == "wrong_app":
        opts["app"] = "tablet"
    elif spoil == "hub_too_old":
        opts["hub_version"] = "0.4.9"
    with pytest.raises(Refused) as info:
        verify_bundle(bundle, public, **opts)  # type: ignore[arg-type]
    assert info.value.reason == reason
    assert str(info.value)  # a sentence for the operator


class _Hub:
    """The production hub serving over mutual TLS on loopback, in a background thread, with the
    test's app store in place of its own."""

    def __init__(self, tmp: Path, store: AppStore) -> None:
        self.tls = make_tls_env(tmp / "pki", "B001")
        self.pki = self.tls.folder
        self.hub = open_hub(branch_config(), tmp / "hub", self.tls)
        self.hub.appstore.close()
        self.hub.appstore = store
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(create_app(self.hub))
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=hub_ssl_context(self.hub))
        self.loop.run_until_complete(site.start())
        self.url = f"https://127.0.0.1:{self.runner.addresses[0][1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def device(self, device_id: str, kind: str) -> tuple[str, str]:
        """An enrolled device's certificate and key files."""
        crt, key = self.tls.client(device_id, kind)
        return str(crt), str(key)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.hub.db.close()
        self.hub.security.close()


@pytest.fixture
def hub(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[tuple[_Hub, AppStore]]:
    store = AppStore(tmp_path / "appstore")
    store.trust(keys[1].read_bytes())
    h = _Hub(tmp_path, store)
    yield h, store
    h.stop()
    store.close()


def _updater(
    tmp: Path, h: _Hub, keys: tuple[Path, Path], device: str, kind: str = "kiosk"
) -> AppUpdater:
    return AppUpdater(
        h.url,
        "kiosk" if kind == "kiosk" else "tablet",
        tmp / f"device-{device}",
        load_signing_public(keys[1]),
        ca_file=str(h.pki / "ca.crt"),
        client_cert=h.device(device, kind),
    )


def test_channels_install_health_check_and_rollback(
    tmp_path: Path, keys: tuple[Path, Path], hub: tuple[_Hub, AppStore]
) -> None:
    h, store = hub
    k1 = _updater(tmp_path, h, keys, "K1")
    k2 = _updater(tmp_path, h, keys, "K2")
    assert k1.update(HEALTH).outcome == "up_to_date"  # nothing published yet

    store.publish(release(tmp_path, keys[0], "1.0"), "stable")
    res = k1.update(HEALTH)
    assert (res.outcome, res.version) == ("installed", "1.0")
    assert (k1.current_path / "demoapp" / "__init__.py").read_text().startswith("VERSION = '1.0'")
    assert k1.update(HEALTH).outcome == "up_to_date"

    # 2.0 fails its health check; it goes to canary, which only the pilot group follows.
    store.publish(release(tmp_path, keys[0], "2.0", healthy=False), "canary")
    store.assign("canary", group="pilot")
    store.set_group("K1", "pilot")
    assert k2.check() is not None
    assert k2.check().version == "1.0"  # type: ignore[union-attr]
    res = k1.update(HEALTH)
    assert res.outcome == "rolled_back"
    assert res.version == "1.0"
    assert res.reason == "health_check_failed"
    assert k1.installed_version == "1.0"
    assert (k1.current_path / "demoapp" / "__init__.py").read_text().startswith("VERSION = '1.0'")
    assert k1.health_check(HEALTH) == (True, "healthy")
    assert k1.update(HEALTH).outcome == "skipped"  # 2.0 failed here once
    reports = store.reports()
    assert reports[0]["device_id"] == "K1"
    assert reports[0]["event"] == "rolled_back"
    assert reports[0]["version"] == "2.0"
    assert "exit status 1" in reports[0]["detail"]

    # A fixed 2.1 on canary installs over the rolled-back device.
    store.publish(release(tmp_path, keys[0], "2.1"), "canary")
    assert k1.update(HEALTH).outcome == "installed"
    assert k1.installed_version == "2.1"

    # The device is moved back to stable (1.0): older than what it runs, refused and reported.
    store.assign("stable", device="K1")
    res = k1.update(HEALTH)
    assert (res.outcome, res.reason) == ("refused", "older")
    assert k1.installed_version == "2.1"
    assert store.reports()[0]["reason"] == "older"

    # A file changed on the hub after publishing is refused by the device.
    store.publish(release(tmp_path, keys[0], "3.0"), "stable")
    hosted = tmp_path / "appstore" / "releases" / "kiosk" / "3.0" / "demoapp-3.0-py3-none-any.whl"
    hosted.write_bytes(hosted.read_bytes()[:-1] + b"\1")
    res = k1.update(HEALTH)
    assert (res.outcome, res.reason) == ("refused", "tampered")
    assert k1.installed_version == "2.1"
    k1.close()
    k2.close()


def test_hub_refuses_bad_bundles_and_keeps_channels_forward(
    tmp_path: Path, keys: tuple[Path, Path], hub: tuple[_Hub, AppStore]
) -> None:
    _, store = hub
    bundle = release(tmp_path, keys[0], "1.2")
    store.publish(bundle, "stable")
    older = release(tmp_path, keys[0], "1.1")
    with pytest.raises(Refused, match="older") as info:
        store.publish(older, "stable")
    assert info.value.reason == "older"
    forged = release(tmp_path, keys[0], "1.3")
    other = Ed25519PrivateKey.generate()
    (forged / "manifest.sig").write_text(
        base64.b64encode(other.sign(b"branch-edge/v1 release\x00" + b"x")).decode()
    )
    with pytest.raises(Refused) as info:
        store.publish(forged, "stable")
    assert info.value.reason == "bad_signature"
    assert store.channel_version("kiosk", "stable") == "1.2"
    # The CLI says why, in words.
    shutil.rmtree(forged)
    out = subprocess.run(
        [sys.executable, "-m", "branch_hub.provision.cli", "channel", "publish",
         "--dir", str(tmp_path), str(older)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert "refused (older)" in out.stderr


def test_routes_need_the_right_device(
    tmp_path: Path, keys: tuple[Path, Path], hub: tuple[_Hub, AppStore]
) -> None:
    h, store = hub
    store.publish(release(tmp_path, keys[0], "1.0"), "stable")
    ca = str(h.pki / "ca.crt")
    base = f"{h.url}/api/v1/apps"
    assert requests.get(f"{base}/kiosk/offer", verify=ca, timeout=5).status_code == 401
    tablet = h.device("T1", "tablet")
    r = requests.get(f"{base}/kiosk/offer", verify=ca, cert=tablet, timeout=5)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "wrong_app"
    kiosk = h.device("K9", "kiosk")
    for name in ("..%2F..%2Fappstore.db", "appstore.db", "..", "release.pub"):
        r = requests.get(f"{base}/kiosk/releases/1.0/{name}", verify=ca, cert=kiosk, timeout=5)
        assert r.status_code == 404, name
    r = requests.get(f"{base}/kiosk/releases/1.0/manifest.json", verify=ca, cert=kiosk, timeout=5)
    assert r.status_code == 200
    r = requests.post(
        f"{base}/kiosk/reports", json={"event": "hacked"}, verify=ca, cert=kiosk, timeout=5
    )
    assert r.status_code == 400


def test_a_version_that_keeps_crashing_after_start_is_rolled_back(
    tmp_path: Path, keys: tuple[Path, Path], hub: tuple[_Hub, AppStore]
) -> None:
    h, store = hub
    k1 = _updater(tmp_path, h, keys, "K1")
    store.publish(release(tmp_path, keys[0], "1.0"), "stable")
    assert k1.update(HEALTH).outcome == "installed"
    assert k1.boot_check() is None
    k1.confirm_healthy()
    assert k1.boot_check() is None  # confirmed: nothing to watch
    store.publish(release(tmp_path, keys[0], "1.1"), "stable")
    assert k1.update(HEALTH).outcome == "installed"  # passes the pre-start check ...
    assert k1.boot_check() is None  # ... then crashes twice before confirming health
    assert k1.boot_check() is None
    assert k1.boot_check() == "1.0"  # third start: rolled back
    assert k1.installed_version == "1.0"
    report = store.reports()[0]
    assert (report["event"], report["version"], report["reason"]) == (
        "rolled_back",
        "1.1",
        "crashed_after_start",
    )
    assert k1.boot_check() is None
    res = k1.update(HEALTH)  # the channel still offers 1.1: not installed again
    assert (res.outcome, res.reason) == ("skipped", "previously_rolled_back")
    store.publish(release(tmp_path, keys[0], "1.2"), "stable")
    assert k1.update(HEALTH).outcome == "installed"
    k1.close()


def test_device_side_imports_nothing_from_the_hub() -> None:
    code = (
        "import sys, branch_hub.client.updater\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('branch_hub', 'drivers', 'sync')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = ast.literal_eval(out.stdout.strip())
    assert "branch_hub.client.updater" in loaded
    outside = [
        m
        for m in loaded
        if m not in ("branch_hub", "branch_hub.vocabulary", "branch_hub.client")
        and not m.startswith("branch_hub.client.")
    ]
    assert outside == []
