"""The hub's app-channel routes: offer, release files and device reports (all under /api/v1/apps).

Only enrolled devices call them (the verified client certificate names the device); a kiosk
gets the kiosk app, a tablet or counter PC the tablet app. File names come from the release's
signed manifest, never from the request path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from branch_hub import __version__
from branch_hub.appstore.store import AppStore, AppStoreError
from branch_hub.server import ApiError, HubApp, ctx

__all__ = ["APP_FOR_KIND", "register"]

APP_FOR_KIND = {"kiosk": "kiosk", "tablet": "tablet", "counter": "tablet"}
STORE: web.AppKey[AppStore] = web.AppKey("appstore", AppStore)


def _device(request: web.Request) -> str:
    context = ctx(request)
    if context.anonymous or context.device_id is None:
        raise ApiError(401, "device_required", "only enrolled devices can fetch app updates")
    app = request.match_info["app"]
    if APP_FOR_KIND.get(context.device_kind or "") != app:
        raise ApiError(
            403, "wrong_app", f"a {context.device_kind} device does not run the {app} app"
        )
    return context.device_id


async def offer(request: web.Request) -> web.Response:
    """What this device's channel offers (204 when nothing is published)."""
    device = _device(request)
    store = request.app[STORE]
    body = await asyncio.get_running_loop().run_in_executor(
        None, store.offer, request.match_info["app"], device
    )
    if body is None:
        return web.Response(status=204)
    return web.json_response({**body, "hub_version": __version__})


async def release_file(request: web.Request) -> web.StreamResponse:
    """One file of a published release."""
    _device(request)
    m = request.match_info
    path = request.app[STORE].release_file(m["app"], m["version"], m["name"])
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", "no such release file")
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


async def report(request: web.Request) -> web.Response:
    """A device reports an install, a refusal or a rollback."""
    device = _device(request)
    try:
        body: Any = await request.json()
    except ValueError:
        raise ApiError(400, "bad_json", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    version = body.get("version")
    fields = [body.get("event"), body.get("reason", ""), body.get("detail", "")]
    if not all(isinstance(f, str) for f in fields) or not (
        version is None or isinstance(version, str)
    ):
        raise ApiError(400, "bad_report", "event, reason and detail are text; version text or null")
    try:
        await asyncio.get_running_loop().run_in_executor(
            None,
            request.app[STORE].record_report,
            device,
            request.match_info["app"],
            version,
            *fields,
        )
    except AppStoreError as exc:
        raise ApiError(400, "bad_report", str(exc)) from exc
    return web.json_response({"recorded": True}, status=201)


def register(app: web.Application, hub: HubApp, store: AppStore | None = None) -> None:
    """Add the app-channel routes; the store defaults to `hub.appstore`."""
    store = store or getattr(hub, "appstore", None)
    if not isinstance(store, AppStore):
        raise TypeError("register() needs an AppStore (pass store= or set hub.appstore)")
    app[STORE] = store
    app.router.add_get("/api/v1/apps/{app}/offer", offer)
    app.router.add_get("/api/v1/apps/{app}/releases/{version}/{name}", release_file)
    app.router.add_post("/api/v1/apps/{app}/reports", report)
