"""The guest page on a phone: first paint on a throttled phone profile, and how soon a call shows.

Headless Chromium opens a fresh ticket's page from the guest listener of a real hub (built as
production builds it) and reads its first contentful paint; then a teller calls the ticket over
the API and the page's own clock stamps when "counter N" appears. The same page over unthrottled
loopback, in the same run, is the baseline. The phone profile: Chrome's "Fast 3G" network (563 ms
latency, 1.44 Mbit/s down, 675 kbit/s up) and a CPU slowed 4 times.

`python -m bench.guest_page [--rounds N]`; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.devtools import LivePage
from tests.support.hubkit import guest_site
from tests.support.lobbyenv import RunningHub, running_hub
from tests.support.tlsenv import make_tls_env
from tests.test_guest_page import guest_config, teller, token_of, walk_in

PHONE = {"latency": 563, "down_kbps": 1440, "up_kbps": 675, "cpu": 4}
_CALLED = """new Promise((done) => {
  const status = document.getElementById('status');
  const seen = () => document.body.className === 'called';
  if (seen()) { done(performance.timeOrigin + performance.now()); return; }
  new MutationObserver(() => { if (seen()) done(performance.timeOrigin + performance.now()); })
    .observe(status, {childList: true, characterData: true, subtree: true});
})"""
_FCP = (  # false between documents, while the navigation is under way
    "(() => { try { return document.body.dataset.live === '1' && "
    "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime; } "
    "catch (e) { return false; } })()"
)


def _throttle(page: LivePage, phone: bool) -> None:
    page.call("Network.enable")
    page.call(
        "Network.emulateNetworkConditions",
        offline=False,
        latency=PHONE["latency"] if phone else 0,
        downloadThroughput=PHONE["down_kbps"] * 1000 / 8 if phone else -1,
        uploadThroughput=PHONE["up_kbps"] * 1000 / 8 if phone else -1,
    )
    page.call("Emulation.setCPUThrottlingRate", rate=PHONE["cpu"] if phone else 1)


def _open(page: LivePage, url: str) -> float:
    """Navigate to a ticket's page; its first contentful paint in ms once its stream is live."""
    page.call("Page.navigate", url=url)
    time.sleep(0.05)  # the old document may still answer the first poll
    return float(page.wait_for(_FCP, timeout_s=60))


async def _round(run: RunningHub, http: aiohttp.ClientSession, page: LivePage, guest: str) -> Any:
    ticket = await walk_in(run, http)
    paint = await asyncio.to_thread(_open, page, f"{guest}/t/{token_of(ticket['qr'])}")
    shown = asyncio.create_task(asyncio.to_thread(page.evaluate, _CALLED))
    await asyncio.sleep(0.2)  # the observer is in place before the call
    start_ms = time.time() * 1000
    await teller(run, http, "POST", "/counters/C1/call-next")
    answered_ms = time.time() * 1000 - start_ms
    return paint, await shown - start_ms, answered_ms


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


async def measure(rounds: int, root: Path) -> dict[str, Any]:
    """Both profiles, `rounds` tickets each, on one hub."""
    figures: dict[str, dict[str, list[float]]] = {}
    async with (
        running_hub(
            root / "hub", make_tls_env(root / "pki"), guest_config(6000, unlimited=True), None
        ) as run,
        guest_site(run.hub) as guest,
        aiohttp.ClientSession() as http,
    ):
        for profile in ("loopback", "phone"):
            page = await asyncio.to_thread(lambda: LivePage("about:blank", 390, 844).__enter__())
            try:
                await asyncio.to_thread(_throttle, page, profile == "phone")
                samples = [await _round(run, http, page, guest) for _ in range(rounds)]
                paints, updates, answers = (list(column) for column in zip(*samples, strict=True))
                figures[profile] = {"paint": paints, "update": updates, "answer": answers}
            finally:
                await asyncio.to_thread(page.close)
    return _summary(figures, rounds)


def _summary(figures: dict[str, dict[str, list[float]]], rounds: int) -> dict[str, Any]:
    phone, base = figures["phone"], figures["loopback"]
    out: dict[str, Any] = {
        "rounds": rounds,
        "phone_profile": PHONE,
        "first_paint_ms_p50": round(statistics.median(phone["paint"]), 1),
        "first_paint_ms_p95": round(_p95(phone["paint"]), 1),
        "first_paint_loopback_ms_p50": round(statistics.median(base["paint"]), 1),
        "update_ms_p95": round(_p95(phone["update"]), 1),
        "update_loopback_ms_p95": round(_p95(base["update"]), 1),
        "call_answer_ms_p95": round(_p95(base["answer"] + phone["answer"]), 1),
    }
    out["first_paint_vs_loopback"] = round(
        out["first_paint_ms_p50"] / max(out["first_paint_loopback_ms_p50"], 0.1), 1
    )
    out["update_vs_loopback"] = round(
        out["update_ms_p95"] / max(out["update_loopback_ms_p95"], 0.1), 1
    )
    return out


def main() -> None:
    """Run the bench and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(measure(args.rounds, Path(tmp)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
