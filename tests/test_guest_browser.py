"""The guest page in headless Chromium at a phone's size: the ticket, then its call, live."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from PIL import Image

from tests.support.chromium import shots_dir
from tests.support.devtools import LivePage
from tests.support.hubkit import guest_site
from tests.support.lobbyenv import running_hub
from tests.support.tlsenv import make_tls_env
from tests.test_guest_page import guest_config, teller, token_of, walk_in

PHONE = (390, 844)  # CSS pixels of a common phone
_STATUS = "document.getElementById('status').textContent"


def settled(expression: str) -> str:
    """`expression`, false while the page is between documents (a navigation under way)."""
    return f"(() => {{ try {{ return {expression}; }} catch (e) {{ return false; }} }})()"


def phone_page(url: str) -> LivePage:
    """A page at the phone's size, emulated as a touch device."""
    page = LivePage(url, *PHONE).__enter__()
    page.call(
        "Emulation.setDeviceMetricsOverride",
        width=PHONE[0],
        height=PHONE[1],
        deviceScaleFactor=2,
        mobile=True,
    )
    return page


def test_the_phone_shows_the_ticket_and_its_call_live(tmp_path: Path) -> None:
    shots = shots_dir(tmp_path)

    async def scenario() -> None:
        tls = make_tls_env(tmp_path / "pki")
        async with (
            running_hub(tmp_path / "hub", tls, guest_config(), None) as run,
            guest_site(run.hub) as guest,
            aiohttp.ClientSession() as http,
        ):
            for _ in range(2):
                await walk_in(run, http)
            mine = await walk_in(run, http)
            page = await asyncio.to_thread(phone_page, f"{guest}/t/{token_of(mine['qr'])}")
            try:
                shown = await asyncio.to_thread(
                    page.wait_for,
                    settled(
                        "document.body.dataset.live === '1' && "
                        "document.getElementById('number').textContent"
                    ),
                )
                assert shown == mine["number"]
                ahead = await asyncio.to_thread(
                    page.evaluate, "document.getElementById('ahead').textContent"
                )
                assert ahead == "前面还有 2 人等候"
                await asyncio.to_thread(page.screenshot, shots / "guest-ticket.png")
                for counter in ("C1", "C2", "C3"):
                    await teller(run, http, "POST", f"/counters/{counter}/call-next")
                called = await asyncio.to_thread(
                    page.wait_for, settled(f"{_STATUS}.includes('3 号窗口') && {_STATUS}")
                )
                assert called == "请到 3 号窗口办理"
                await asyncio.to_thread(page.screenshot, shots / "guest-ticket-called.png")
                await asyncio.to_thread(
                    page.evaluate, "document.getElementById('lang').click() || true"
                )
                english = await asyncio.to_thread(
                    page.wait_for, settled(f"document.documentElement.lang === 'en' && {_STATUS}")
                )
                assert english == "Please go to counter 3"
            finally:
                await asyncio.to_thread(page.close)

    asyncio.run(scenario())
    for name in ("guest-ticket.png", "guest-ticket-called.png"):
        image = Image.open(shots / name)
        assert image.size == (PHONE[0] * 2, PHONE[1] * 2)
