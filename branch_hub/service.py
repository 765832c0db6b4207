"""Run the hub: load config, open its stores, serve the API over HTTPS until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from pathlib import Path

from aiohttp import web
from cryptography import x509

from branch_hub.appstore.routes import register as register_appstore
from branch_hub.appstore.store import AppStore
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.cache_sync import CacheSync, SyncSettings
from branch_hub.config import BranchConfig, resolve_data_dir, split_listen
from branch_hub.context import server_ssl_context
from branch_hub.discovery import HubAdvert, HubAdvertiser
from branch_hub.lobby import open_lobby
from branch_hub.outbox import open_for_hub
from branch_hub.pki import ca_fingerprint, issue_server_cert, load_pem_pair, make_ca
from branch_hub.push import EventLog
from branch_hub.retention import today_start
from branch_hub.security.hub import HubSecurity
from branch_hub.server import HubApp, create_app
from branch_hub.voice import VoiceCache

__all__ = ["ensure_dev_pki", "serve"]

log = logging.getLogger("branch_hub.service")


def ensure_dev_pki(pki_dir: Path, branch_id: str) -> None:
    """Create a branch CA and server certificate if the branch has not been provisioned yet."""
    ca_cert, ca_key = pki_dir / "ca.crt", pki_dir / "ca.key"
    hub_cert, hub_key = pki_dir / "hub.crt", pki_dir / "hub.key"
    if hub_cert.exists() and hub_key.exists() and ca_cert.exists():
        return
    pki_dir.mkdir(parents=True, exist_ok=True)
    if ca_cert.exists() and ca_key.exists():
        ca = load_pem_pair(ca_cert, ca_key)
    else:
        ca = make_ca(branch_id)
        ca.save(ca_cert, ca_key)
    host = socket.gethostname()
    server = issue_server_cert(ca, host, ["localhost", host], ["127.0.0.1", "::1"])
    server.save(hub_cert, hub_key)
    log.warning("no provisioned certificates in %s: created a development branch CA", pki_dir)


def _advertise(config: BranchConfig, pki_dir: Path, port: int) -> HubAdvertiser:
    """Advertise the hub by mDNS on the configured interfaces only."""
    info_path = pki_dir / "hub.json"
    hub_id = f"{config.branch.id}-hub"
    if info_path.exists():
        hub_id = str(json.loads(info_path.read_text(encoding="utf-8")).get("hub_id", hub_id))
    ca = x509.load_pem_x509_certificate((pki_dir / "ca.crt").read_bytes())
    interfaces = list(config.hub.mdns_interfaces)
    advert = HubAdvert(config.branch.id, hub_id, ca_fingerprint(ca), port, tuple(interfaces))
    return HubAdvertiser(advert, interfaces)


async def serve(
    config: BranchConfig,
    config_path: Path,
    listen: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the hub until SIGINT/SIGTERM (or `stop` is set)."""
    data_dir = resolve_data_dir(config, config_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    pki_dir = data_dir / "pki"
    ensure_dev_pki(pki_dir, config.branch.id)
    cipher = AtRestCipher(load_or_create_key(data_dir / "atrest.key"))
    ca = (
        load_pem_pair(pki_dir / "ca.crt", pki_dir / "ca.key")
        if (pki_dir / "ca.key").exists()
        else None
    )
    security = HubSecurity.open(data_dir, config.hub.staff_idle_timeout_s, ca=ca)
    hub = HubApp(
        log=EventLog(data_dir / "hub.db", cipher),
        config=config,
        voice=VoiceCache(data_dir / "voice"),
        security=security,
    )
    hub.board.rebuild(hub.log, today_start(config.branch.timezone))
    hub.cache_sync = CacheSync(SyncSettings.from_config(config, config_path, data_dir), hub.emit)
    hub.status.update({"branch_id": config.branch.id})
    lobby = open_lobby(hub, config, data_dir, cipher)
    # Claims, notes, hand-offs and lead outcomes wait here for HQ (sent when [hq] collector_url
    # is set; otherwise they stay queued, durable, until it is).
    hub.outbox, sender = open_for_hub(config, data_dir, cipher)
    host, port = split_listen(listen or config.hub.listen)
    ssl_ctx = server_ssl_context(
        str(pki_dir / "hub.crt"),
        str(pki_dir / "hub.key"),
        str(pki_dir / "ca.crt"),
        require_client=False,
    )
    app = create_app(hub)
    # The private app store: signed releases per channel for enrolled kiosks and tablets.
    register_appstore(app, hub, AppStore(data_dir / "appstore"))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_ctx)
    await site.start()
    await lobby.start()
    bound = runner.addresses[0]
    print(f"branch-hub: listening on https://{bound[0]}:{bound[1]}", flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    puller = asyncio.create_task(hub.cache_sync.run(stop), name="scheduled-pull")
    watcher = asyncio.create_task(security.watch_revocations())
    sending = asyncio.create_task(sender.run(stop), name="outbox") if sender else None
    advertiser = None
    if config.hub.mdns_interfaces:
        advertiser = await loop.run_in_executor(None, _advertise, config, pki_dir, int(bound[1]))
    try:
        await stop.wait()
    finally:
        watcher.cancel()
        if advertiser is not None:
            await loop.run_in_executor(None, advertiser.close)
        await runner.cleanup()
        # A pull in progress runs on in its thread until done; pulls are atomic and resumable,
        # so stopping mid-pull loses nothing.
        puller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await puller
        hub.cache_sync.close()
        await lobby.close()
        if sending is not None and sender is not None:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
            sender.close()
        hub.outbox.close()
        hub.log.close()
        security.close()
        print("branch-hub: stopped", flush=True)
