"""Build and serve a hub for tests exactly as production does: `build_hub`, then `start_site`.

The test's PKI (a `TlsEnv`) becomes the hub's provisioned PKI in its data folder, and every
client certificate the test issues is enrolled in the hub's device registry, as enrolment would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from branch_hub.api import create_app
from branch_hub.api.guest_site import start_guest_site
from branch_hub.api.serve import hub_ssl_context, start_site
from branch_hub.config import BranchConfig
from branch_hub.hub import Hub, HubOptions, build_hub
from branch_hub.identity import HubPki, server_names, write_hub_identity
from branch_hub.pki import CertifiedKey
from tests.support.tlsenv import TlsEnv

__all__ = ["guest_site", "hub_config", "install_pki", "open_hub", "provision", "served_hub"]


def hub_config(config: BranchConfig, data: Path) -> BranchConfig:
    """The config with its data folder set to `data`."""
    hub = config.hub.model_copy(update={"data_dir": str(data)})
    return config.model_copy(update={"hub": hub})


def provision(data: Path, branch_id: str = "BJ-CY-0105") -> CertifiedKey:
    """Give a data folder the keys `branch-provision init` writes (same code); return the CA."""
    names, addresses = server_names(None, [])
    return write_hub_identity(HubPki(data / "pki"), branch_id, names, addresses, 8443)


def install_pki(tls: TlsEnv, data: Path) -> None:
    """Provision the data folder with the test's branch CA and server certificate."""
    pki = data / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    tls.ca.save(pki / "ca.crt", pki / "ca.key")
    (pki / "hub.crt").write_bytes(tls.server_cert.read_bytes())
    (pki / "hub.key").write_bytes(tls.server_key.read_bytes())
    (pki / "hub.key").chmod(0o600)


def open_hub(
    config: BranchConfig,
    data: Path,
    tls: TlsEnv,
    options: HubOptions | None = None,
    *,
    config_path: Path | None = None,
) -> Hub:
    """Provision `data` with the test PKI and build the hub on it (not started, not served).

    `config_path` is where the config was read from (HQ's files are found next to it).
    """
    install_pki(tls, data)
    hub = build_hub(hub_config(config, data), config_path or data / "hub.toml", options)
    tls.registry = hub.security.devices
    return hub


@asynccontextmanager
async def served_hub(
    config: BranchConfig,
    data: Path,
    tls: TlsEnv,
    options: HubOptions | None = None,
    *,
    extra: Callable[[web.Application], None] | None = None,
    port: int = 0,
    config_path: Path | None = None,
) -> AsyncIterator[tuple[Hub, str]]:
    """Build, serve on a loopback port (0: a free one) and start a hub; yield it with its URL.

    `extra` adds test-only routes to the production application before it is served.
    """
    hub = open_hub(config, data, tls, options, config_path=config_path)
    ssl_ctx = hub_ssl_context(hub)
    if extra is None:
        runner = await start_site(hub, "127.0.0.1", port, ssl_ctx, shutdown_timeout_s=0.5)
    else:
        app = create_app(hub)
        extra(app)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_ctx).start()
    await hub.start()
    try:
        yield hub, f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        tls.registry = None
        await runner.cleanup()
        await hub.close()


@asynccontextmanager
async def guest_site(hub: Hub) -> AsyncIterator[str]:
    """Serve the hub's guest listener on a free loopback port, as `serve` does; yield its URL."""
    runner = await start_guest_site(hub, "127.0.0.1", 0, shutdown_timeout_s=0.5)
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
