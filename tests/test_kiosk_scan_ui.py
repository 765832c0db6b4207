"""The kiosk's camera in a real Kivy window under Xvfb against the real hub over mTLS.

No real camera: the frames are the rendered QR (the appointment code HQ texts, the ticket's QR
the kiosk printed), uploaded to a GL texture and read back as Kivy's camera texture is. A booked
customer scans the code and reaches the booked ticket screen (a wrong code first is refused on
the camera screen); a customer who took a walk-in ticket swipes a card (the pty stripe reader),
taps "I already have a ticket", shows the ticket's QR and sees the same number upgraded.
Screenshots: kiosk-scan-*.png (docs/screenshots with `./run screenshots`).
"""

from __future__ import annotations

import io
import os
import secrets
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import qrcode
from PIL import Image

from branch_hub.client.qr_frames import Frame, camera_frames
from branch_hub.config import BranchConfig, parse_config
from drivers.sim.magstripe import card_swipe
from sync.export_appointments import appointment_code, code_digest
from tests.support.appointmentenv import booking, build_booked_cache, local_now
from tests.support.kiosk_real_hub import RealKioskHub
from tests.support.kivy_harness import Harness, shared_harness
from tests.support.lobbyenv import BuiltCache
from tests.support.tlsenv import make_tls_env

pytestmark = [pytest.mark.display]

DOC_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SIZE = (1920, 1080)
TOKEN = secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def harness() -> Harness:
    h = shared_harness()
    from branch_hub.client.fonts import find_cjk_font
    from kiosk.app import use_font

    use_font(find_cjk_font())
    return h


def _book(rows: list[dict[str, Any]]) -> None:
    now = local_now()
    if (now - timedelta(minutes=10)).date() != (now + timedelta(minutes=30)).date():
        pytest.skip("too close to midnight for a same-day window")
    plain = [r for r in rows if r["tier"] in {"mass", "basic"} and r["cards"]]
    visit = booking("AP-SMS", now - timedelta(minutes=10), advisor_role="wealth_manager")
    plain[0]["appointments"] = [visit | {"code_digest": code_digest(TOKEN)}]
    plain[0]["test_role"] = "booked"
    plain[1]["tier"], plain[1]["test_role"] = "wealth", "upgrade"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_booked_cache(tmp_path_factory.mktemp("scan-ui"), _book)


def _config() -> BranchConfig:
    """Station K1 with the pty stripe reader and printer; tickets carry guest-pass links."""
    data = tomllib.loads((resources.files("branch_hub") / "sample_branch.toml").read_text("utf-8"))
    data["stations"] = [
        {
            "id": "K1",
            "card_reader": "none",
            "id_reader": "none",
            "magstripe": "sim://magstripe",
            "printer": "sim://printer",
        }
    ]
    data["guest"] = {"enabled": True, "public_url": "http://guest.branch.test:8080"}
    return parse_config(data, "kiosk scan test config")


class Camera:
    """What the kiosk's camera sees: a white wall until a QR is held up."""

    def __init__(self) -> None:
        self.showing: Any = None

    def hold_up(self, text: str) -> None:
        """A QR of `text` in front of the camera, as Kivy's camera texture would hold it."""
        from kivy.graphics.texture import Texture

        out = io.BytesIO()
        qrcode.make(text).save(out)
        with Image.open(io.BytesIO(out.getvalue())) as image:
            rgba = image.convert("RGBA")
        texture = Texture.create(size=rgba.size, colorfmt="rgba")
        texture.blit_buffer(rgba.tobytes(), colorfmt="rgba", bufferfmt="ubyte")
        self.showing = camera_frames(SimpleNamespace(texture=texture))

    def frame(self) -> Frame | None:
        if self.showing is None:
            return Frame(b"\xff" * (64 * 64), 64, 64, "luminance")
        frame: Frame | None = self.showing()
        return frame


class Kiosk(SimpleNamespace):
    """The window, its controller, the hub and the camera in front of it."""

    harness: Harness
    view: Any
    controller: Any
    hub: RealKioskHub
    camera: Camera
    shots: Path

    @property
    def phase(self) -> str:
        return str(self.controller.flow.state.phase.value)

    def wait_for(self, name: str, timeout_s: float = 10) -> None:
        flow = self.controller.flow
        self.harness.until(
            lambda: self.phase == name and self.view.rendered_version == flow.state.version,
            timeout_s,
            f"screen {name} (now {self.phase})",
        )

    def tap(self, action: str) -> None:
        self.harness.until(lambda: action in self.view.buttons, 5, f"button {action}")
        self.harness.tap(self.view.buttons[action])

    def text(self) -> str:
        from kivy.uix.label import Label

        labels = [w.text for w in self.view.walk() if isinstance(w, Label)]
        return "\n".join(labels)

    def shoot(self, name: str) -> None:
        path = self.harness.screenshot(self.shots / f"kiosk-scan-{name}.png")
        assert path.stat().st_size > 10_000
        if os.environ.get("BRANCH_EDGE_SCREENSHOTS") == "docs":  # ./run screenshots
            self.harness.screenshot(DOC_SHOTS / path.name)


@pytest.fixture
def kiosk(harness: Harness, cache: BuiltCache, tmp_path: Path) -> Iterator[Kiosk]:
    from branch_hub.client import Backoff, DeviceTls, HubClient
    from kiosk.app import KioskView
    from kiosk.flow import Flow, Timeouts
    from kiosk.link import Controller, HubLink

    tls = make_tls_env(tmp_path / "pki")
    hub = RealKioskHub(tmp_path / "hub", tls, _config(), cache_dir=cache.folder).start()
    cert, key = tls.client("K1", "kiosk")
    link = HubLink(HubClient(hub.url, DeviceTls(cert, key, tls.ca_path), timeout_s=3))
    link.stream.backoff = Backoff(first=0.1, cap=0.5)
    controller = Controller(
        Flow(timeouts=Timeouts(greeting=30.0, ticket=30.0)), link.inbox, link.submit
    )
    camera = Camera()
    view = KioskView(controller, frame_source=camera.frame)
    harness.show(view, SIZE)
    link.start()
    k = Kiosk(
        harness=harness,
        view=view,
        controller=controller,
        hub=hub,
        camera=camera,
        shots=tmp_path / "screens",
    )
    try:
        k.wait_for("attract")
        yield k
    finally:
        view.stop()
        link.stop()
        hub.close()


def _who(cache: BuiltCache, role: str) -> dict[str, Any]:
    return next(r for r in cache.customers if r.get("test_role") == role)


def test_an_appointment_code_shown_to_the_camera_checks_in(kiosk: Kiosk) -> None:
    assert "扫码签到 / Scan your appointment code" in kiosk.text()
    kiosk.shoot("attract")
    kiosk.tap("scan")
    kiosk.wait_for("scanning")
    assert "请将二维码对准摄像头 / Hold the QR code up to the camera" in kiosk.text()
    kiosk.shoot("camera")
    kiosk.camera.hold_up(appointment_code(secrets.token_urlsafe(16)))  # not one of ours
    kiosk.harness.until(lambda: "这不是今天有效的预约码" in kiosk.text(), 10, "the refusal")
    kiosk.shoot("refused")
    kiosk.camera.hold_up(appointment_code(TOKEN))
    kiosk.wait_for("ticket")
    text = kiosk.text()
    assert "您预约了" in text
    assert "的理财咨询" in text
    assert "您已签到，将优先为您叫号" in text
    state = kiosk.controller.flow.state
    assert state.ticket is not None
    assert state.ticket.number in text
    kiosk.shoot("booked")
    tickets = kiosk.hub.call(_tickets(kiosk.hub))
    assert [(t.number, t.appointment) for t in tickets] == [(state.ticket.number, True)]


def test_a_walk_in_ticket_is_upgraded_by_its_qr_after_a_card_read(
    kiosk: Kiosk, cache: BuiltCache
) -> None:
    kiosk.tap("walk_in")
    kiosk.wait_for("menu")
    kiosk.tap("service:cash")
    kiosk.wait_for("ticket")
    walk_in = kiosk.controller.flow.state.ticket
    assert walk_in is not None
    assert "/t/" in walk_in.qr
    kiosk.tap("done")
    kiosk.wait_for("attract")
    customer = _who(cache, "upgrade")
    kiosk.hub.sim("magstripe").swipe(card_swipe(customer["cards"][0]["pan"], "3012"))
    kiosk.wait_for("greeting")
    assert "我已取号 / I already have a ticket" in kiosk.text()
    kiosk.tap("have_ticket")
    kiosk.wait_for("scanning")
    assert "请出示号票上的二维码" in kiosk.text()
    kiosk.camera.hold_up(walk_in.qr)
    kiosk.wait_for("upgraded")
    text = kiosk.text()
    assert f"您的号码 {walk_in.number} 已为您升级" in text
    assert customer["name"] not in text
    kiosk.shoot("upgraded")
    tickets = kiosk.hub.call(_tickets(kiosk.hub))
    assert [(t.number, t.priority) for t in tickets] == [(walk_in.number, True)]


async def _tickets(hub: RealKioskHub) -> list[Any]:
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, hub.lobby.queue.tickets)
