"""Staff's catalogue product views over TLS: recorded once per request id, judged for the visit's
customer, sent to HQ's reference collector exactly once, audited; bad bodies get typed 400/404s."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.client.models import ProductViewRecorded, ProductViewRequest
from branch_hub.config import BranchConfig
from branch_hub.outbox import OutboxSender, load_or_create_signing_key
from branch_hub.vocabulary import ProductSuitability, ProductViewMode
from tests.outbox_support import Hq, running
from tests.support.catalogue_hq import apply_catalogue
from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

BRANCH = "BJ-CY-0105"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("views-cache"), customers=60)


def _config() -> BranchConfig:
    """The sample branch with write budgets wide enough for the fuzzer's burst of bodies."""
    config = branch_config()
    hub = config.hub.model_copy(update={"write_limit_scale": 1000.0})
    return config.model_copy(update={"hub": hub})


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


_TEXT = st.text(max_size=30)
_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "product_code": st.one_of(st.none(), _TEXT, st.integers(), st.just("ZZ9999")),
        "mode": st.one_of(st.none(), _TEXT, st.sampled_from(list(ProductViewMode)), st.booleans()),
        "visit_id": st.one_of(st.none(), _TEXT, st.integers(), st.just("0" * 16)),
        "request_id": st.one_of(st.none(), _TEXT, st.integers()),
    },
)


def test_views_recorded_replayed_sent_once_and_audited(tmp_path: Path, cache: BuiltCache) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    apply_catalogue(tmp_path / "hub" / "catalogue", tmp_path / "hq-catalogue")
    customer = next(c for c in cache.customers if c["cards"])

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, _config(), cache) as run:
            for _ in range(400):
                if run.hub.catalogue.facts():
                    break
                await asyncio.sleep(0.05)
            code = sorted(run.hub.catalogue.facts() or {})[0]
            ssl, headers = run.staff("wealth")
            async with aiohttp.ClientSession() as http:

                async def post(body: object) -> tuple[int, Any]:
                    url = f"{run.url}/api/v1/catalogue/views"
                    async with http.post(url, json=body, ssl=ssl, headers=headers) as resp:
                        return resp.status, await resp.json()

                session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
                kiosk = tls.client_context("K1", "kiosk")
                ticket = {"service": "cash", "session_id": session.session_id}
                async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=ticket, ssl=kiosk):
                    pass
                [visit] = run.hub.lobby.visits.of_day(_today().isoformat())
                await _views(post, code, visit.visit_id)
                await _bad_bodies(post)
                counts = await run.hub.views.views_of_day(_today())
                assert [(c.product_code, c.mode, c.views) for c in counts] == [
                    (code, ProductViewMode.COMPARED, 1),
                    (code, ProductViewMode.PRESENTED, 1),
                ]
            await asyncio.get_running_loop().run_in_executor(None, run.hub.relay.flush)
            views = [e for e in run.hub.audit.entries() if e.action == "product_view"]
            assert len(views) == 2
            assert views[0].detail["product_code"] == code
            await asyncio.get_running_loop().run_in_executor(None, _deliver, run.hub, tmp_path)

    asyncio.run(scenario())


async def _views(post: Any, code: str, visit_id: str) -> None:
    request = ProductViewRequest(code, ProductViewMode.PRESENTED, visit_id)
    status, first = await post(request.to_wire())
    assert status == 201
    answer = ProductViewRecorded.from_wire(first)
    assert answer.suitability in set(ProductSuitability) - {ProductSuitability.NOT_IN_CATALOGUE}
    assert await post(request.to_wire()) == (201, first)  # the retry gets the first answer
    status, alone = await post(ProductViewRequest(code, ProductViewMode.COMPARED).to_wire())
    assert (status, alone["suitability"]) == (201, None)
    for body, want in (
        ({"product_code": "ZZ9999", "mode": "viewed"}, (404, "catalogue_product_unknown")),
        ({"product_code": code, "mode": "viewed", "visit_id": "0" * 16}, (404, "unknown_visit")),
        ({"product_code": code, "mode": "glanced"}, (400, "bad_mode")),
    ):
        status, refused = await post(body)
        assert (status, refused["error"]["code"]) == want, body


async def _bad_bodies(post: Any) -> None:
    """Arbitrary bodies (none names a real product): a typed 400 or 404, never a 5xx."""
    loop = asyncio.get_running_loop()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_BODIES)
    def check(body: dict[str, Any]) -> None:
        status, answer = asyncio.run_coroutine_threadsafe(post(body), loop).result(15)
        assert status in (400, 404), (body, answer)
        assert answer["error"]["code"]
        assert answer["error"]["message_zh"]

    await loop.run_in_executor(None, check)


def _deliver(hub: Any, tmp_path: Path) -> None:
    """Send the hub's outbox to the reference collector: each view reaches HQ exactly once."""
    key = load_or_create_signing_key(tmp_path / "outcome_signing.key")
    (tmp_path / "hq").mkdir(exist_ok=True)
    hq = Hq(tmp_path / "hq", {BRANCH: tmp_path / "outcome_signing.pub"})
    with running(hq):
        sender = OutboxSender(
            hub.outbox, collector_url=hq.url, ca_file=str(hq.ca), branch_id=BRANCH,
            signing_key=key,
        )  # fmt: skip
        for _ in range(2):  # a second round resends nothing
            sender.send_due()
        sender.close()
    with sqlite3.connect(hq.db) as db:
        rows = db.execute(
            "SELECT kind, deliveries, envelope FROM events WHERE kind = 'product_view'"
        ).fetchall()
    assert len(rows) == 2
    assert all(deliveries == 1 for _, deliveries, _ in rows)
    assert any('"customer_id"' in envelope for _, _, envelope in rows)
