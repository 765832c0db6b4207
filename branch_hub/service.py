"""Run the hub: load config, open its stores, serve the API over HTTPS until told to stop."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import signal
import socket
from pathlib import Path

from cryptography import x509

from branch_hub.api.serve import hub_ssl_context, start_site
from branch_hub.config import BranchConfig, resolve_data_dir, split_listen
from branch_hub.discovery import HubAdvert, HubAdvertiser
from branch_hub.hub import build_hub
from branch_hub.pki import ca_fingerprint, issue_server_cert, load_pem_pair, make_ca

__all__ = ["ensure_dev_pki", "raise_open_files_limit", "serve"]

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
    raise_open_files_limit()
    data_dir = resolve_data_dir(config, config_path)
    ensure_dev_pki(data_dir / "pki", config.branch.id)
    hub = build_hub(config, config_path)
    host, port = split_listen(listen or config.hub.listen)
    runner = await start_site(hub, host, port, hub_ssl_context(hub))
    await hub.start()
    bound = runner.addresses[0]
    print(f"branch-hub: listening on https://{bound[0]}:{bound[1]}", flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    advertiser = None
    if config.hub.mdns_interfaces:
        advertiser = await loop.run_in_executor(
            None, _advertise, config, data_dir / "pki", int(bound[1])
        )
    try:
        await stop.wait()
    finally:
        if advertiser is not None:
            await loop.run_in_executor(None, advertiser.close)
        await runner.cleanup()
        # A pull in progress runs on in its thread until done; pulls are atomic and resumable,
        # so stopping mid-pull loses nothing.
        await hub.close()
        print("branch-hub: stopped", flush=True)
