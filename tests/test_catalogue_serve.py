"""The hub pulls HQ's catalogue over real HTTPS and serves its search to enrolled tablets over TLS.

Before any catalogue the routes answer a typed 404 with Chinese; a refused bundle (signed by
another key) keeps the catalogue already served; a kiosk or a device without a certificate is
refused; a tablet needs no staff session (the catalogue is public bank material).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_hub.client import DeviceTls, HubClient
from branch_hub.config import BranchConfig
from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_model import Catalogue
from sync.catalogue_synth import generate_catalogue
from sync.keys import load_signing_private, write_key_pair
from sync.static_server import StaticServer, make_test_pki
from tests.support.hubkit import served_hub
from tests.support.lobbyenv import branch_config
from tests.support.tlsenv import TlsEnv, make_tls_env


@dataclass
class Hq:
    """HQ's signing key and a publication folder served over HTTPS on loopback."""

    www: Path
    server: StaticServer
    ca: Path
    signing: Path
    signing_pub: Path

    def publish(self, catalogue: Catalogue) -> None:
        publish_catalogue(catalogue, load_signing_private(self.signing), self.www)


@pytest.fixture(scope="module")
def small() -> Catalogue:
    return generate_catalogue(60, 120, seed=7, as_of=datetime.now(UTC).date())


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    ca, cert, key = make_test_pki(tmp_path / "hq-pki")
    (tmp_path / "www").mkdir()
    (tmp_path / "hq").mkdir()
    signing, signing_pub = tmp_path / "hq" / "signing.key", tmp_path / "hq" / "signing.pub"
    write_key_pair("hq", signing, signing_pub)
    with StaticServer(tmp_path / "www", cert, key) as server:
        yield Hq(tmp_path / "www", server, ca, signing, signing_pub)


def _config(hq: Hq) -> BranchConfig:
    config = branch_config()
    update = {
        "catalogue_url": hq.server.url,
        "signing_public_key": str(hq.signing_pub),
        "ca_file": str(hq.ca),
    }
    return config.model_copy(update={"hq": config.hq.model_copy(update=update)})


async def _get(url: str, ssl: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, ssl=ssl) as resp:
        return resp.status, await resp.json()


def test_tablets_search_the_pulled_catalogue(tmp_path: Path, hq: Hq, small: Catalogue) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")

    async def scenario() -> None:
        async with served_hub(_config(hq), tmp_path / "hub", tls) as (hub, url):
            tablet = tls.client_context("tab-1", "tablet")
            api = f"{url}/api/v1/catalogue"
            status, body = await _get(api, tablet)  # HQ has published nothing yet
            assert status == 404  # nothing to show yet: not a fault of the hub
            assert body["error"]["code"] == "catalogue_not_ready"
            assert body["error"]["message_zh"] == "网点服务器尚未收到总行的产品目录，请稍后再试。"
            assert (await _get(f"{api}/products?q=理财", tablet))[0] == 404

            hq.publish(small)
            assert await hub.catalogue.pull_now()
            status, body = await _get(api, tablet)
            assert status == 200
            assert body == {
                "sequence": 1,
                "created": body["created"],
                "products": 60,
                "articles": 120,
                "files": body["files"],
            }
            status, body = await _get(f"{api}/products?limit=100", tablet)
            assert status == 200
            on_sale = {p.code for p in small.products if p.on_sale(hub.catalogue._today())}
            assert {p["code"] for p in body["products"]} == on_sale
            wealth = f"{api}/products?category=wealth&max_risk=R2&limit=100"
            found = (await _get(wealth, tablet))[1]["products"]
            assert all(p["category"] == "wealth" and p["risk"] in ("R1", "R2") for p in found)
            name = next(p for p in small.products if p.code in on_sale).name_zh
            status, body = await _get(f"{api}/products?q={name}", tablet)
            assert body["products"][0]["name_zh"] == name
            assert body["products"][0]["name_hit"] is True
            assert (await _get(f"{api}/products?limit=0", tablet))[1]["error"]["code"] == (
                "bad_catalogue_query"
            )
            assert (await _get(f"{api}/products?max_risk=R9", tablet))[0] == 400

            # The typed client, as the tablet app would call it (blocking: off the loop).
            cert, key = tls.client("tab-2", "tablet")
            client = HubClient(url, DeviceTls(cert, key, tls.ca_path))
            loop = asyncio.get_running_loop()
            info = await loop.run_in_executor(None, client.catalogue)
            assert (info.sequence, info.products) == (1, 60)
            hits = await loop.run_in_executor(None, client.catalogue_products, name)
            assert hits.sequence == 1
            assert hits.products[0].name_zh == name

    asyncio.run(scenario())


def test_only_enrolled_tablets_and_counters_read_it(
    tmp_path: Path, hq: Hq, small: Catalogue
) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    hq.publish(small)

    async def scenario() -> None:
        async with served_hub(_config(hq), tmp_path / "hub", tls) as (hub, url):
            assert await hub.catalogue.pull_now()
            api = f"{url}/api/v1/catalogue"
            counter = tls.client_context("ctr-1", "counter")
            assert (await _get(api, counter))[0] == 200
            for path in ("", "/products?q=存款"):
                status, body = await _get(api + path, tls.client_context("K1", "kiosk"))
                assert (status, body["error"]["code"]) == (403, "device_kind_forbidden")
                status, body = await _get(api + path, tls.client_context())
                assert (status, body["error"]["code"]) == (401, "device_not_enrolled")

    asyncio.run(scenario())


def test_a_refused_bundle_keeps_the_served_catalogue(
    tmp_path: Path, hq: Hq, small: Catalogue
) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    hq.publish(small)

    async def scenario() -> None:
        async with served_hub(_config(hq), tmp_path / "hub", tls) as (hub, url):
            assert await hub.catalogue.pull_now()
            forged = tmp_path / "forged"
            other = generate_catalogue(30, 40, seed=8, as_of=datetime.now(UTC).date())
            publish_catalogue(other, Ed25519PrivateKey.generate(), forged)
            shutil.copytree(forged, hq.www, dirs_exist_ok=True)
            assert not await hub.catalogue.pull_now()
            tablet = tls.client_context("tab-1", "tablet")
            status, body = await _get(f"{url}/api/v1/catalogue", tablet)
            assert (status, body["sequence"], body["products"]) == (200, 1, 60)

    asyncio.run(scenario())
