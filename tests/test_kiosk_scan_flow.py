"""The camera's part of the kiosk flow without a window: buttons only with a camera, a code sent
once, refusals said, cancel and the timeout return where the camera was opened from, and the
upgraded screen shows the number and never the class or tier."""

from __future__ import annotations

from kiosk.flow import EndSession, Flow, Menu, Phase, SendScan, SendUpgrade, Ticket
from kiosk.screens import describe
from tests.test_kiosk_flow import MENU, VIP

TICKET = Ticket("A012", "现金业务", "Cash", 2, (5, 10), "", None)


def _flow(camera: bool = True) -> Flow:
    flow = Flow()
    flow.hub_connected()
    flow.menu_loaded(Menu.from_wire(MENU))
    flow.camera_ready(camera)
    return flow


def _phase(flow: Flow) -> Phase:
    return flow.state.phase


def _actions(flow: Flow) -> set[str]:
    return {b.action for b in describe(flow.state).buttons}


def test_without_a_camera_no_scan_button_shows() -> None:
    flow = _flow(camera=False)
    assert "scan" not in _actions(flow)
    assert flow.touch("scan") == []
    assert _phase(flow) is Phase.ATTRACT
    flow.session_update(VIP)
    assert "have_ticket" not in _actions(flow)


def test_an_appointment_code_is_sent_once_and_a_refusal_is_said() -> None:
    flow = _flow()
    assert "扫码签到 / Scan your appointment code" in describe(flow.state).all_text()
    flow.touch("scan")
    assert _phase(flow) is Phase.SCANNING
    screen = describe(flow.state)
    assert screen.title == "请将二维码对准摄像头 / Hold the QR code up to the camera"
    assert flow.scanned("branchedge://appointment?t=x") == [
        SendScan("branchedge://appointment?t=x")
    ]
    assert flow.scanned("branchedge://appointment?t=x") == [], "one at a time"
    flow.scan_refused("unknown_code")
    assert describe(flow.state).notice == "这不是今天有效的预约码"
    assert flow.scanned("branchedge://appointment?t=x") == [], "not the same code again"
    assert flow.scanned("branchedge://appointment?t=y") == [
        SendScan("branchedge://appointment?t=y")
    ]
    flow.scan_refused("unknown_code")
    flow.touch("cancel")
    assert _phase(flow) is Phase.ATTRACT
    assert flow.state.scan_sent is None
    flow.touch("scan")
    flow.tick(flow.now + 21)
    assert _phase(flow) is Phase.ATTRACT, "20 s without a code: back to attract"


def test_a_booked_session_from_the_scan_goes_to_its_ticket() -> None:
    flow = _flow()
    flow.touch("scan")
    flow.scanned("branchedge://appointment?t=x")
    booked = dict(VIP) | {
        "appointment": {
            "time": "10:30",
            "window_end": "11:00",
            "service": "wealth",
            "service_zh": "理财咨询",
            "service_en": "Wealth",
            "arrival": "on_time",
            "reserved": True,
            "repeated": False,
            "ticket": {"number": "C001", "service_zh": "理财咨询", "service_en": "Wealth"},
        }
    }
    flow.session_update(booked)
    assert _phase(flow) is Phase.TICKET
    assert describe(flow.state).title == "您预约了 10:30 的理财咨询"


def test_a_recognised_customer_upgrades_a_printed_ticket() -> None:
    flow = _flow()
    flow.session_update(VIP)
    assert "have_ticket" in _actions(flow)
    flow.touch("continue")
    assert "have_ticket" in _actions(flow)
    flow.touch("have_ticket")
    assert _phase(flow) is Phase.SCANNING
    assert describe(flow.state).subtitle == "请出示号票上的二维码"
    flow.touch("cancel")
    assert _phase(flow) is Phase.MENU, "back to the menu, the session kept"
    assert flow.state.session_id == "s1"
    flow.touch("have_ticket")
    assert flow.scanned("https://q/t/abc") == [SendUpgrade("https://q/t/abc")]
    flow.upgraded("upgraded", TICKET)
    screen = describe(flow.state)
    assert screen.title == "您的号码 A012 已为您升级"
    assert screen.big_number == "A012"
    assert "钻石" not in screen.all_text()
    assert "Diamond" not in screen.all_text()
    effects = flow.touch("done")
    assert not any(isinstance(e, EndSession) for e in effects), "the hub ended it already"
    assert _phase(flow) is Phase.ATTRACT
    assert flow.state.ticket is None


def test_a_walk_in_has_no_ticket_button() -> None:
    flow = _flow()
    flow.touch("walk_in")
    assert _phase(flow) is Phase.MENU
    assert "have_ticket" not in _actions(flow)
    assert flow.touch("have_ticket") == []
