"""A tablet's own catalogue copy, pulled through a real hub's mirror over TLS on loopback.

HQ publishes with its own tools, the hub pulls the catalogue the production way (file:// URL,
HQ's key in the config), and the tablet copies it through GET /api/v1/catalogue/files with the
typed client: it searches as the hub does, refreshes by delta, refuses a bad signature, a missing
or flipped chunk and another key while the old copy keeps answering, refuses a copy changed on
its disk, and survives a refresh killed half way. The staff PIN check counts like a login.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_hub.client import AsyncHubClient, DeviceTls, HubClient, HubRefused
from branch_hub.client.catalogue_copy import CatalogueCopy, CatalogueCopyError
from branch_hub.config import BranchConfig
from branch_hub.hub import Hub
from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_model import Catalogue
from sync.catalogue_synth import generate_catalogue
from sync.keys import load_signing_private, write_key_pair
from tests.support.hubkit import served_hub
from tests.support.lobbyenv import STAFF_PIN, add_staff, branch_config
from tests.support.tlsenv import TlsEnv, make_tls_env

TODAY = datetime.now(UTC).date()
QUERIES = ("", "理财", "稳健", "存款", "基金", "R", "盈")


@dataclasses.dataclass
class World:
    """HQ's key and publication folder, the TLS of the branch, and a hub config reading both."""

    tmp: Path
    www: Path
    signing: Path
    tls: TlsEnv
    config: BranchConfig

    def publish(self, catalogue: Catalogue) -> None:
        publish_catalogue(catalogue, load_signing_private(self.signing), self.www)

    def key_hex(self) -> str:
        public = load_signing_private(self.signing).public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw.hex()

    def tablet(self, url: str, device: str = "tab-1") -> HubClient:
        cert, key = self.tls.client(device, "tablet")
        return HubClient(url, DeviceTls(cert, key, self.tls.ca_path))


@pytest.fixture
def world(tmp_path: Path) -> World:
    (tmp_path / "www").mkdir()
    (tmp_path / "hq").mkdir()
    signing, public = tmp_path / "hq" / "signing.key", tmp_path / "hq" / "signing.pub"
    write_key_pair("hq", signing, public)
    config = branch_config()
    update = {"catalogue_url": (tmp_path / "www").as_uri() + "/", "signing_public_key": str(public)}
    config = config.model_copy(update={"hq": config.hq.model_copy(update=update)})
    return World(tmp_path, tmp_path / "www", signing, make_tls_env(tmp_path / "pki"), config)


def _catalogue(seed: int = 7) -> Catalogue:
    return generate_catalogue(100, 100, seed=seed, as_of=TODAY)


def _one_percent(catalogue: Catalogue) -> Catalogue:
    """One product of a hundred changed (its minimum amount)."""
    first = catalogue.products[0]
    changed = dataclasses.replace(first, min_amount_yuan=first.min_amount_yuan + 1000)
    return dataclasses.replace(catalogue, products=(changed, *catalogue.products[1:]))


async def _off(call: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, call, *args)


async def _hub_codes(url: str, world: World, query: str) -> list[str]:
    ssl = world.tls.client_context("tab-9", "tablet")
    api = f"{url}/api/v1/catalogue/products"
    async with (
        aiohttp.ClientSession() as http,
        http.get(api, params={"q": query, "limit": "100"}, ssl=ssl) as resp,
    ):
        return [p["code"] for p in (await resp.json())["products"]]


def _copy_codes(copy: CatalogueCopy, query: str, today: date) -> list[str]:
    search = copy.open()
    assert search is not None
    try:
        return [hit.code for hit in search.products(query, today, limit=100)]
    finally:
        search.close()


def _chunks(hub: Hub) -> Path:
    return hub.catalogue.settings.store / "current" / "chunks"


def _manifest_shas(hub: Hub) -> set[str]:
    body = json.loads(json.loads((_chunks(hub).parent / "manifest.json").read_bytes())["body"])
    return {c["sha256"] for c in body["chunks"]}


def test_the_tablet_copy_searches_as_the_hub_and_refreshes_by_delta(world: World) -> None:
    catalogue = _catalogue()
    copy = CatalogueCopy(world.tmp / "tablet")

    async def scenario() -> None:
        async with served_hub(world.config, world.tmp / "hub", world.tls) as (hub, url):
            client = world.tablet(url)
            with pytest.raises(HubRefused) as before:  # nothing applied yet
                await _off(client.catalogue_file, "latest.json")
            assert (before.value.status, before.value.code) == (404, "catalogue_not_ready")
            world.publish(catalogue)
            assert await hub.catalogue.pull_now()
            key = await _off(client.catalogue_key)
            assert key == world.key_hex()
            first = await _off(copy.refresh, client.catalogue_file, key)
            assert (first.sequence, first.applied, first.reused_chunks) == (1, True, 0)
            assert first.fetched_chunks == len(_manifest_shas(hub))
            today = hub.catalogue._today()
            for query in QUERIES:
                assert _copy_codes(copy, query, today) == await _hub_codes(url, world, query)
            image = next(p.image for p in catalogue.products if p.image)
            assert copy.file(image) == catalogue.assets[image]
            assert copy.file("no-such.png") is None

            old = _manifest_shas(hub)
            world.publish(_one_percent(catalogue))
            assert await hub.catalogue.pull_now()
            changed = _manifest_shas(hub) - old
            second = await _off(copy.refresh, client.catalogue_file, key)
            assert (second.sequence, second.fetched_chunks) == (2, len(changed))
            assert len(changed) == 1  # one product of a hundred: one products chunk
            assert second.reused_chunks == len(old) - 1
            same = await _off(copy.refresh, client.catalogue_file, key)
            assert (same.applied, same.fetched_chunks) == (False, 0)
            for query in QUERIES[:3]:
                assert _copy_codes(copy, query, today) == await _hub_codes(url, world, query)
            for name in ("../status.json", "files.json", "ABC"):
                with pytest.raises(HubRefused) as unknown:
                    await _off(client.catalogue_file, name)
                assert unknown.value.status == 404

    asyncio.run(scenario())


def _refused(copy: CatalogueCopy, fetch: Callable[[str], bytes], key: str) -> str:
    with pytest.raises(CatalogueCopyError) as refused:
        copy.refresh(fetch, key)
    assert refused.value.message_zh
    return refused.value.reason_code


def test_refused_refreshes_keep_the_old_copy(world: World) -> None:
    catalogue = _catalogue()
    copy = CatalogueCopy(world.tmp / "tablet")

    async def scenario() -> None:
        async with served_hub(world.config, world.tmp / "hub", world.tls) as (hub, url):
            client, key = world.tablet(url), world.key_hex()
            world.publish(catalogue)
            assert await hub.catalogue.pull_now()
            await _off(copy.refresh, client.catalogue_file, key)
            today = hub.catalogue._today()
            served = _copy_codes(copy, "理财", today)
            old = _manifest_shas(hub)
            world.publish(_one_percent(catalogue))
            assert await hub.catalogue.pull_now()
            (changed,) = _manifest_shas(hub) - old
            chunk = _chunks(hub) / changed
            good = chunk.read_bytes()

            def forged(name: str) -> bytes:
                data = client.catalogue_file(name)
                return data.replace(b'"sequence\\":2', b'"sequence\\":3')

            other = (
                Ed25519PrivateKey.generate()
                .public_key()
                .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            )
            cases: list[tuple[str, Callable[[], object]]] = [
                ("catalogue_bad_signature", lambda: None),
                ("catalogue_file_missing", chunk.unlink),
                ("catalogue_bad_chunk", lambda: chunk.write_bytes(bytes([good[0] ^ 1]) + good[1:])),
                ("catalogue_key_changed", lambda: chunk.write_bytes(good)),
            ]
            for reason, tamper in cases:
                await _off(tamper)
                fetch = forged if reason == "catalogue_bad_signature" else client.catalogue_file
                use = other.hex() if reason == "catalogue_key_changed" else key
                assert await _off(_refused, copy, fetch, use) == reason
                assert copy.sequence == 1
                assert _copy_codes(copy, "理财", today) == served  # the old copy still answers
            assert (await _off(copy.refresh, client.catalogue_file, key)).sequence == 2

    asyncio.run(scenario())


def _local_fetch(hub_store: Path) -> Callable[[str], bytes]:
    """The mirror's files read straight from a hub's store (no hub needed)."""

    def fetch(name: str) -> bytes:
        folder = hub_store / "current"
        return (folder / (name if name.endswith(".json") else f"chunks/{name}")).read_bytes()

    return fetch


def _pulled(world: World, catalogue: Catalogue) -> Path:
    from sync.catalogue_pull import pull_catalogue

    store = world.tmp / "store"
    world.publish(catalogue)
    public = load_signing_private(world.signing).public_key()
    pull_catalogue(world.www.as_uri() + "/", store, hq_public=public, progress=False)
    return store


def test_open_refuses_a_copy_changed_on_disk(world: World) -> None:
    copy = CatalogueCopy(world.tmp / "tablet")
    assert copy.open() is None
    store = _pulled(world, _catalogue())
    copy.refresh(_local_fetch(store), world.key_hex())
    version = next((world.tmp / "tablet").glob("v1-*"))
    for victim in (version / "index.sqlite", next((version / "chunks").iterdir())):
        good = victim.read_bytes()
        victim.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
        with pytest.raises(CatalogueCopyError) as tampered:
            copy.open()
        assert tampered.value.reason_code == "catalogue_copy_tampered"
        victim.write_bytes(good)
        search = copy.open()
        assert search is not None
        search.close()


def test_a_picture_changed_on_disk_is_refused_after_its_list_was_read(world: World) -> None:
    catalogue = _catalogue()
    copy = CatalogueCopy(world.tmp / "tablet")
    copy.refresh(_local_fetch(_pulled(world, catalogue)), world.key_hex())
    version = next((world.tmp / "tablet").glob("v1-*"))
    image = next(p.image for p in catalogue.products if p.image)
    assert copy.file(image) == catalogue.assets[image]  # the list is now read and kept
    chunk, offset, size, _ = json.loads((version / "files.json").read_bytes())[image]
    good = (version / "chunks" / chunk).read_bytes()
    flipped = bytearray(good)
    flipped[offset + size // 2] ^= 1
    (version / "chunks" / chunk).write_bytes(bytes(flipped))
    with pytest.raises(CatalogueCopyError) as tampered:
        copy.file(image)  # the kept list's digest still catches the picture's bytes
    assert tampered.value.reason_code == "catalogue_copy_tampered"
    (version / "chunks" / chunk).write_bytes(good)
    listing = version / "files.json"
    listing.write_bytes(listing.read_bytes().replace(b"[", b"[ ", 1))
    readers: list[Callable[[], object]] = [
        copy.open,
        lambda: CatalogueCopy(world.tmp / "tablet").file(image),
    ]
    for read in readers:
        with pytest.raises(CatalogueCopyError) as changed:
            read()
        assert changed.value.reason_code == "catalogue_copy_tampered"


class Killed(BaseException):
    """The tablet's process dying in the middle of a refresh."""


def test_a_refresh_killed_half_way_leaves_the_old_copy(world: World) -> None:
    catalogue = _catalogue()
    copy = CatalogueCopy(world.tmp / "tablet")
    store = _pulled(world, catalogue)
    fetch = _local_fetch(store)
    copy.refresh(fetch, world.key_hex())
    before = _copy_codes(copy, "", TODAY)
    changed = _catalogue(seed=8)  # every chunk differs
    _pulled(world, changed)
    calls: list[str] = []

    def dying(name: str) -> bytes:
        calls.append(name)
        if len(calls) > 20:
            raise Killed
        return fetch(name)

    with pytest.raises(Killed):
        copy.refresh(dying, world.key_hex())
    assert copy.sequence == 1
    assert _copy_codes(copy, "", TODAY) == before
    assert not list((world.tmp / "tablet").glob(".staging-*"))
    assert copy.refresh(fetch, world.key_hex()).sequence == 2
    assert {p.code for p in changed.products if p.on_sale(TODAY)} == set(
        _copy_codes(copy, "", TODAY)
    )


def test_pin_check_counts_like_a_login(world: World) -> None:
    async def scenario() -> None:
        async with served_hub(world.config, world.tmp / "hub", world.tls) as (hub, url):
            add_staff(hub.security)
            staff_id = next(a.staff_id for a in hub.security.staff.list())
            tablet, other = world.tablet(url), world.tablet(url, "tab-2")
            token = (await _off(tablet.login, staff_id, STAFF_PIN)).token
            assert await _off(tablet.check_pin, token, STAFF_PIN) is None
            cert, key = world.tls.client("ctr-1", "counter")
            counter = AsyncHubClient(url, DeviceTls(cert, key, world.tls.ca_path))
            try:  # the asyncio client: same routes, same answers
                assert await counter.catalogue_key() == world.key_hex()
                with pytest.raises(HubRefused) as not_yet:
                    await counter.catalogue_file("latest.json")
                assert not_yet.value.code == "catalogue_not_ready"
                with pytest.raises(HubRefused) as no_session:
                    await counter.check_pin("not-a-session", STAFF_PIN)
                assert no_session.value.status == 401
                await counter.login(staff_id, STAFF_PIN)
                assert await counter.check_pin(counter.token or "", STAFF_PIN) is None
            finally:
                await counter.close()
            for _ in range(2):
                with pytest.raises(HubRefused) as wrong:
                    await _off(tablet.check_pin, token, "000000")
                assert (wrong.value.status, wrong.value.code) == (403, "wrong_pin")
                assert wrong.value.message_zh
            for _ in range(3):  # failed logins elsewhere add up to the account's lockout
                with pytest.raises(HubRefused):
                    await _off(other.login, staff_id, "000000")
            with pytest.raises(HubRefused) as locked:
                await _off(tablet.check_pin, token, STAFF_PIN)
            assert (locked.value.status, locked.value.code) == (423, "account_locked")

    asyncio.run(scenario())


def test_the_mirror_serves_the_bytes_hq_signed(world: World) -> None:
    store = _pulled(world, _catalogue())
    latest = (world.www / "latest.json").read_bytes()
    assert _local_fetch(store)("latest.json") == latest
    pointer = json.loads(json.loads(latest)["body"])
    manifest = _local_fetch(store)("manifest.json")
    assert hashlib.sha256(manifest).hexdigest() == pointer["sha256"]
