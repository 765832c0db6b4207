"""After security flows that touch customers, no name, ID number or PAN is in any file or log."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from branch_hub.api import HUB
from branch_hub.api.guards import require
from sync.synth import SynthOptions, generate
from tests.support.pii_scan import ENCODINGS, needles, scan_bytes, scan_tree
from tests.support.securehub import client, login, secure_hub
from tests.support.tlsenv import make_tls_env

CUSTOMERS = list(generate(SynthOptions(customers=20, seed=6)))


def _brief_route(app: web.Application) -> None:
    by_id = {c["customer_id"]: c for c in CUSTOMERS}

    async def brief(request: web.Request) -> web.Response:
        context = require(request, kinds={"tablet"}, roles={"wealth_manager"})
        customer = by_id[request.match_info["cid"]]
        hub = request.app[HUB]
        hub.audit.record("brief_view", ctx=context, customer_id=customer["customer_id"])
        return web.json_response({"masked": customer["name"][0] + "*"})

    app.router.add_get("/api/v1/test/brief/{cid}", brief)


def test_scanner_finds_planted_words_in_every_encoding(tmp_path: Path) -> None:
    name = CUSTOMERS[0]["name"]
    for encoding in ENCODINGS:
        (tmp_path / f"{encoding}.bin").write_bytes(b"x" + name.encode(encoding) + b"y")
    hits = scan_tree(tmp_path, [name])
    assert {h[2] for h in hits} >= set(ENCODINGS)
    assert scan_bytes(b"nothing here", needles(CUSTOMERS)) == []


def test_no_customer_identifiers_in_hub_files_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tls = make_tls_env(tmp_path / "pki")
    data = tmp_path / "data"

    async def main() -> None:
        async with (
            secure_hub(data, tls, extra=_brief_route) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as tab,
        ):
            _, body = await login(tab, url)
            auth = {"Authorization": f"Bearer {body['token']}"}
            for c in CUSTOMERS:
                async with tab.get(
                    f"{url}/api/v1/test/brief/{c['customer_id']}", headers=auth
                ) as r:
                    assert r.status == 200
            for word in needles(CUSTOMERS[:3]):
                with pytest.raises(ValueError, match="must be an id"):
                    hub.audit.record("brief_view", customer_id=word)
            assert hub.security is not None
            assert hub.security.audit.verify() == 21

    asyncio.run(main())
    words = needles(CUSTOMERS)
    assert scan_tree(data, words) == []
    assert scan_bytes(caplog.text.encode("utf-8"), words) == []
