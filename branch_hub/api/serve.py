"""Serving a hub's API over TLS: the production application on a TCP site."""

from __future__ import annotations

import resource
import ssl

from aiohttp import web

from branch_hub.api import create_app
from branch_hub.api.app import HANDSHAKES
from branch_hub.api.connections import CONNECTIONS
from branch_hub.api.handshakes import TlsSite
from branch_hub.hub import Hub
from branch_hub.pki import server_ssl_context

__all__ = ["hub_ssl_context", "start_site"]


async def start_site(
    hub: Hub, host: str, port: int, ssl_ctx: ssl.SSLContext, shutdown_timeout_s: float = 60.0
) -> web.AppRunner:
    """Serve a hub's API over TLS on host:port (0 picks a free port); return the runner.

    Failed TLS handshakes are counted (GET /health, `tls_handshakes_failed`) and logged; so are
    connections refused at a cap or closed for being slow (`connections_refused`,
    `connections_timed_out`).
    """
    app = create_app(hub)
    connections = app[CONNECTIONS]
    connections.fit_to_open_files(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=shutdown_timeout_s,
        keepalive_timeout=connections.limits.idle_timeout_s,
    )
    await runner.setup()
    site = TlsSite(runner, host, port, ssl_ctx, app[HANDSHAKES], connections)
    await site.start()
    return runner


def hub_ssl_context(hub: Hub) -> ssl.SSLContext:
    """The hub's TLS context: its server certificate; client certificates from the branch CA."""
    pki = hub.data_dir / "pki"
    return server_ssl_context(
        str(pki / "hub.crt"), str(pki / "hub.key"), str(pki / "ca.crt"), require_client=False
    )
