"""Run the hub: load config, open its stores, serve the API over HTTPS until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import signal
import sqlite3
from pathlib import Path

from cryptography import x509

from branch_common.systemd import notify, watchdog_interval_s
from branch_hub.api.guest_site import start_guest_site
from branch_hub.api.serve import hub_ssl_context, start_site
from branch_hub.config import BranchConfig, resolve_data_dir, split_listen
from branch_hub.discovery import HubAdvert, HubAdvertiser, advert_interfaces
from branch_hub.hub import Hub, build_hub
from branch_hub.identity import (
    HubPki,
    default_addresses,
    default_names,
    write_hub_identity,
    write_server_cert,
)
from branch_hub.pki import ca_fingerprint, load_pem_pair

__all__ = ["ensure_dev_pki", "raise_open_files_limit", "serve"]

log = logging.getLogger("branch_hub.service")


def ensure_dev_pki(pki_dir: Path, branch_id: str) -> None:
    """For `branch-hub --dev` only: make a development branch CA when the keys are missing."""
    pki = HubPki(pki_dir)
    if all(path.exists() for path in pki.required()):
        return
    if pki.ca_crt.exists() and pki.ca_key.exists():
        ca = load_pem_pair(pki.ca_crt, pki.ca_key)
        write_server_cert(ca, pki, f"{branch_id}-hub", default_names(), default_addresses())
    else:
        write_hub_identity(pki, branch_id, default_names(), default_addresses(), 8443)
    log.warning("--dev: created a development branch CA in %s (not for a real branch)", pki_dir)


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard limit (each connection takes one); log it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError) as exc:
            log.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, exc)
    log.info("open-files limit: %d (hard limit %s)", soft, hard)
    return soft


def _advertise(
    config: BranchConfig, pki_dir: Path, listen_host: str, port: int
) -> HubAdvertiser | None:
    """Advertise the hub by mDNS where `advert_interfaces` says, if anywhere."""
    interfaces = advert_interfaces(listen_host, list(config.hub.mdns_interfaces))
    if not config.hub.mdns or not interfaces:
        return None
    info: dict[str, object] = {}
    if (pki_dir / "hub.json").exists():
        info = json.loads((pki_dir / "hub.json").read_text(encoding="utf-8"))
    hub_id = str(info.get("hub_id", f"{config.branch.id}-hub"))
    host = str(info.get("host", "")) or None
    ca = x509.load_pem_x509_certificate((pki_dir / "ca.crt").read_bytes())
    advert = HubAdvert(config.branch.id, hub_id, ca_fingerprint(ca), port, tuple(interfaces))
    try:
        return HubAdvertiser(advert, interfaces, host)
    except OSError as exc:  # devices can still reach the hub by its address
        log.warning("cannot advertise by mDNS on %s: %s", ", ".join(interfaces), exc)
        return None


def _database_answers(hub: Hub) -> bool:
    """One read from the hub's database: its worker threads and its file are usable."""
    with hub.db.reading() as conn:
        return conn.execute("SELECT 1").fetchone() is not None


async def _keep_watchdog_fed(hub: Hub, stop: asyncio.Event) -> None:
    """Tell systemd the hub is alive while its loop runs and its database answers.

    A stuck loop or a database that does not answer within the interval misses a ping, and
    systemd restarts the hub after `WatchdogSec` (the unit's Restart=on-failure).
    """
    every = watchdog_interval_s()
    if every is None:
        return
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            async with asyncio.timeout(every):
                alive = await loop.run_in_executor(None, _database_answers, hub)
        except (TimeoutError, sqlite3.Error):
            alive = False
        if alive:
            notify("WATCHDOG=1")
        else:
            log.warning("the hub's database did not answer within %.1f s", every)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every):
                await stop.wait()


async def serve(
    config: BranchConfig,
    config_path: Path,
    listen: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the hub until SIGINT/SIGTERM (or `stop` is set)."""
    raise_open_files_limit()
    data_dir = resolve_data_dir(config, config_path)
    hub = build_hub(config, config_path)
    host, port = split_listen(listen or config.hub.listen)
    runner = await start_site(hub, host, port, hub_ssl_context(hub))
    guest = config.guest
    guests = await start_guest_site(hub, guest.bind, guest.port) if guest.enabled else None
    await hub.start()
    bound = runner.addresses[0]
    print(f"branch-hub: listening on https://{bound[0]}:{bound[1]}", flush=True)
    if guests is not None:
        print(f"branch-hub: guest pages on {guest.base_url()}/t/", flush=True)
    notify("READY=1", f"STATUS=serving branch {config.branch.id} on port {bound[1]}")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    watchdog = asyncio.create_task(_keep_watchdog_fed(hub, stop), name="watchdog")
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    advertiser = await loop.run_in_executor(
        None, _advertise, config, data_dir / "pki", host, int(bound[1])
    )
    try:
        await stop.wait()
    finally:
        notify("STOPPING=1", "STATUS=stopping")
        watchdog.cancel()
        if advertiser is not None:
            await loop.run_in_executor(None, advertiser.close)
        await runner.cleanup()
        if guests is not None:
            await guests.cleanup()
        # A pull in progress runs on in its thread until done; pulls are atomic and resumable,
        # so stopping mid-pull loses nothing.
        await hub.close()
        print("branch-hub: stopped", flush=True)
