"""The tablet enrols by camera: zbar reads the QR `branch-provision enroll` writes, and the code it
reads enrols against a real hub on loopback exactly as a typed one, CA pin included.

No real camera: frames are the rendered PNG, given to the setup screen in place of Kivy's camera
(as a GL texture read back the way the camera's is), under a private Xvfb.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import qrcode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from branch_hub.client.enrolment_code import EnrolmentError
from branch_hub.pki import ca_fingerprint, make_ca
from branch_hub.provision.cli import main as provision
from branch_hub.provision.enroll import enrolment_uri
from tablet.device import DeviceStore
from tablet.enrolment import enrol_device
from tablet.qrscan import FORMATS, decode_frame, enrolment_payload
from tests.support.hub_thread import ThreadedHub
from tests.support.kivy_harness import Harness, shared_harness
from tests.support.tlsenv import make_tls_env

REFUSED_ZH = "不是本网点的中心"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHub]:
    root = tmp_path_factory.mktemp("hub")
    served = ThreadedHub(root / "data", make_tls_env(root / "pki")).start()
    yield served
    served.close()


def _rgba(png: bytes | Path) -> tuple[bytes, int, int]:
    with Image.open(png if isinstance(png, Path) else io.BytesIO(png)) as image:
        rgba = image.convert("RGBA")
        return rgba.tobytes(), rgba.width, rgba.height


def _qr_png(hub: ThreadedHub, device_id: str, fingerprint: str | None = None) -> bytes:
    """An enrolment QR for `device_id`, drawn as `branch-provision enroll` draws it."""
    assert hub.hub is not None
    code = hub.hub.security.codes.create(device_id, "tablet")
    fp = fingerprint or ca_fingerprint(hub.tls.ca.cert)
    out = io.BytesIO()
    qrcode.make(enrolment_uri(hub.url, fp, code, device_id, "tablet")).save(out)
    return out.getvalue()


def test_the_provisioning_tools_qr_decodes_to_its_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    branch, png = tmp_path / "br", tmp_path / "TAB-01.png"
    monkeypatch.setattr(sys, "stdin", io.StringIO("864213\n"))
    init = ["init", "--dir", str(branch), "--branch-id", "B1", "--name", "n", "--host", "hub1"]
    init += ["--region-code", "310115"]
    assert provision([*init, "--pin-stdin"]) == 0
    assert provision(["enroll", "--dir", str(branch), "--kind", "tablet", "--name", "TAB-01",
                      "--qr", str(png)]) == 0  # fmt: skip
    reference = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()
    pixels, width, height = _rgba(png)
    found = decode_frame(pixels, width, height, "rgba")
    assert found == [reference]
    assert enrolment_payload(found) == reference
    assert reference.startswith("branchedge://enrol?")
    assert "ca=" in reference
    with Image.open(png) as image:
        grey = image.convert("L")
        assert decode_frame(grey.tobytes(), grey.width, grey.height, "luminance") == [reference]


def test_a_blank_or_noisy_frame_reads_nothing() -> None:
    width, height = 640, 480
    assert decode_frame(b"\xff" * (width * height * 4), width, height, "rgba") == []
    noise = random.Random(7).randbytes(width * height * 3)
    assert decode_frame(noise, width, height, "rgb") == []
    assert enrolment_payload(["https://example.com", "WIFI:S:x;;"]) is None
    with pytest.raises(ValueError, match="not a 4x4 rgba frame"):
        decode_frame(b"\0" * 10, 4, 4, "rgba")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    width=st.integers(1, 48),
    height=st.integers(1, 48),
    seed=st.integers(0, 2**32),
    bottom_up=st.booleans(),
)
def test_any_bytes_of_the_right_length_never_raise(
    fmt: str, width: int, height: int, seed: int, bottom_up: bool
) -> None:
    pixels = random.Random(seed).randbytes(width * height * FORMATS[fmt][0])
    assert isinstance(decode_frame(pixels, width, height, fmt, bottom_up=bottom_up), list)


def test_the_decoded_code_enrols_and_another_ca_is_refused(
    hub: ThreadedHub, tmp_path: Path
) -> None:
    other = ca_fingerprint(make_ca("ELSEWHERE").cert)
    wrong = enrolment_payload(decode_frame(*_rgba(_qr_png(hub, "TAB-X", other)), "rgba"))
    assert wrong is not None
    refused_store = DeviceStore(tmp_path / "refused")
    with pytest.raises(EnrolmentError) as refused:
        enrol_device(refused_store, "", wrong, "")
    assert REFUSED_ZH in refused.value.bilingual
    assert not refused_store.enrolled
    assert not refused_store.ca_path.exists()

    text = enrolment_payload(decode_frame(*_rgba(_qr_png(hub, "TAB-Q")), "rgba"))
    assert text is not None
    store = DeviceStore(tmp_path / "tab")
    enrol_device(store, "", text, "")
    assert store.enrolled
    assert store.settings()["hub_url"] == hub.url


# -- the setup screen's camera view (Kivy window on a private Xvfb) -------------------------------
@pytest.fixture(scope="module")
def harness() -> Harness:
    return shared_harness()


def _setup_screen(harness: Harness, folder: Path) -> tuple[Any, Any]:
    from tablet.app import TabletView
    from tablet.controller import Tablet

    tablet = Tablet(DeviceStore(folder))
    view = TabletView(tablet)
    harness.show(view, (1280, 800))
    view.tick()
    harness.frames(3)  # lay the form out before tapping it
    assert tablet.screen == "setup"
    assert "scan" in view.buttons
    return tablet, view


def _camera_showing(png: bytes) -> Any:
    """A stand-in for Kivy's camera: its texture holds the QR, uploaded as the camera uploads."""
    from kivy.graphics.texture import Texture

    pixels, width, height = _rgba(png)
    texture = Texture.create(size=(width, height), colorfmt="rgba")
    texture.blit_buffer(pixels, colorfmt="rgba", bufferfmt="ubyte")
    return SimpleNamespace(texture=texture, play=True)


def _scan(harness: Harness, tablet: Any, view: Any, png: bytes) -> None:
    from tablet.camera_scan import camera_frames

    blank = iter([None, None])  # the camera's first ticks: no picture yet
    camera = camera_frames(_camera_showing(png))
    view.frame_source = lambda: next(blank, None) or camera()
    harness.tap(view.buttons["scan"])
    harness.until(lambda: "code" in view.inputs and bool(view.inputs["code"].text), 10, "a scan")
    harness.until(lambda: (view.tick(), not tablet.busy)[1], 15, "the enrolment's answer")
    view.tick()


def test_the_camera_view_enrols_from_the_qr(
    harness: Harness, hub: ThreadedHub, tmp_path: Path
) -> None:
    tablet, view = _setup_screen(harness, tmp_path / "cam")
    try:
        _scan(harness, tablet, view, _qr_png(hub, "TAB-CAM"))
        assert tablet.store.enrolled, tablet.message
        assert tablet.screen == "login"
    finally:
        tablet.close()


def test_the_camera_view_refuses_a_qr_of_another_ca(
    harness: Harness, hub: ThreadedHub, tmp_path: Path
) -> None:
    tablet, view = _setup_screen(harness, tmp_path / "camx")
    try:
        other = ca_fingerprint(make_ca("ELSEWHERE").cert)
        _scan(harness, tablet, view, _qr_png(hub, "TAB-CAMX", other))
        assert REFUSED_ZH in tablet.message
        assert "does not match the fingerprint" in tablet.message
        assert not tablet.store.enrolled
        assert tablet.screen == "setup"
    finally:
        tablet.close()


def test_without_a_camera_the_button_says_so_and_typing_stays(
    harness: Harness, tmp_path: Path
) -> None:
    tablet, view = _setup_screen(harness, tmp_path / "nocam")
    try:
        harness.tap(view.buttons["scan"])  # no frame source: Kivy's camera, none on this machine
        line = "无法打开摄像头 / no camera"
        # The view redraws on the next frame after the state changed.
        harness.until(lambda: (view.tick(), line in view.status_text)[1], 5, "the no-camera line")
        assert view.inputs["code"].get_root_window() is not None  # the typed form is still shown
    finally:
        tablet.close()
