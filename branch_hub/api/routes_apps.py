"""The hub's app-channel routes: offer, release files and device reports (all under /api/v1/apps).

Only enrolled devices call them (the verified client certificate names the device); a kiosk
gets the kiosk app, a tablet or counter PC the tablet app. File names come from the release's
signed manifest, never from the request path.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from aiohttp import web

from branch_common.i18n import N_
from branch_hub import __version__
from branch_hub.api.app import HUB, ctx
from branch_hub.api.bodies import json_body
from branch_hub.api.errors import ApiError
from branch_hub.api.routes import Body, Param, Reply, Route
from branch_hub.api.wire_schemas import RECORDED
from branch_hub.appstore.store import AppStore, AppStoreError
from branch_hub.client.models import AppOffer, ReportRequest
from branch_hub.messages import zh
from branch_hub.vocabulary import (
    REPORT_DETAIL_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    REPORT_VERSION_MAX_CHARS,
    AppName,
    DeviceKind,
    WriteClass,
)

__all__ = ["APP_FOR_KIND", "ROUTES"]

APP_FOR_KIND = {
    DeviceKind.KIOSK: AppName.KIOSK,
    DeviceKind.TABLET: AppName.TABLET,
    DeviceKind.COUNTER: AppName.TABLET,
}


def _store(request: web.Request) -> AppStore:
    return request.app[HUB].appstore


def _device(request: web.Request) -> str:
    context = ctx(request)
    if context.anonymous or context.device_id is None:
        raise ApiError(401, "device_required", "only enrolled devices can fetch app updates")
    app = request.match_info["app"]
    kind = context.device_kind
    if kind not in set(DeviceKind) or APP_FOR_KIND.get(DeviceKind(kind)) != app:
        raise ApiError(
            403, "wrong_app", f"a {context.device_kind} device does not run the {app} app"
        )
    return context.device_id


async def offer(request: web.Request) -> web.Response:
    """What this device's channel offers (204 when nothing is published)."""
    device = _device(request)
    store = _store(request)
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
    path = await asyncio.get_running_loop().run_in_executor(
        None, _store(request).release_file, m["app"], m["version"], m["name"]
    )
    if path is None:
        raise ApiError(404, "not_found", "no such release file")
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


# Each stored field of a report and its longest accepted value.
_REPORT_LIMITS = {
    "event": 32,
    "version": REPORT_VERSION_MAX_CHARS,
    "reason": REPORT_REASON_MAX_CHARS,
    "detail": REPORT_DETAIL_MAX_CHARS,
}


def _report_fields(body: dict[str, Any]) -> tuple[str | None, str, str, str]:
    """The report's version, event, reason and detail, each within its bound."""
    version = body.get("version")
    event, reason, detail = body.get("event"), body.get("reason", ""), body.get("detail", "")
    if not (
        isinstance(event, str)
        and isinstance(reason, str)
        and isinstance(detail, str)
        and (version is None or isinstance(version, str))
    ):
        raise ApiError(400, "bad_report", "event, reason and detail are text; version text or null")
    for key, most in _REPORT_LIMITS.items():
        value = body.get(key)
        if isinstance(value, str) and len(value) > most:
            text = N_("'{key}' must be at most {most} characters")
            raise ApiError(
                400,
                f"bad_{key}",
                text.format(key=key, most=most),
                zh(text).format(key=key, most=most),
            )
    return version, event, reason, detail


async def report(request: web.Request) -> web.Response:
    """A device reports an install, a refusal or a rollback."""
    device = _device(request)
    version, event, reason, detail = _report_fields(await json_body(request))
    record = functools.partial(
        _store(request).record_report, device, request.match_info["app"], version
    )
    try:
        await asyncio.get_running_loop().run_in_executor(None, record, event, reason, detail)
    except AppStoreError as exc:
        raise ApiError(400, "bad_report", str(exc)) from exc
    return web.json_response({"recorded": True}, status=201)


_APP = Param("app", {"type": "string", "enum": [app.value for app in AppName]})
_APP_KINDS = frozenset(APP_FOR_KIND)

ROUTES = (
    Route(
        "GET",
        "/api/v1/apps/{app}/offer",
        offer,
        "appOffer",
        "What this device's app channel offers (204 when nothing is published).",
        _APP_KINDS,
        {
            200: Reply(
                "The channel's release, its signed manifest and the hub's version.", AppOffer
            ),
            204: Reply("Nothing is published on this device's channel."),
        },
        params=(_APP,),
        description="A kiosk runs the kiosk app, a tablet or counter PC the tablet app; asking "
        "for another app is refused with 403.",
    ),
    Route(
        "GET",
        "/api/v1/apps/{app}/releases/{version}/{name}",
        release_file,
        "appReleaseFile",
        "One file of a published release (names come from its signed manifest).",
        _APP_KINDS,
        {
            200: Reply(
                "The file's bytes.",
                {"type": "string", "format": "binary"},
                media_type="application/octet-stream",
            )
        },
        params=(
            _APP,
            Param("version", {"type": "string"}),
            Param("name", {"type": "string"}),
        ),
        refusals=frozenset({404}),
    ),
    Route(
        "POST",
        "/api/v1/apps/{app}/reports",
        report,
        "appReport",
        "A device reports an install, a refusal or a rollback.",
        _APP_KINDS,
        {201: Reply("Recorded.", RECORDED)},
        params=(_APP,),
        body=Body(
            ReportRequest,
            example={"event": "installed", "version": "1.0.0", "reason": "", "detail": ""},
        ),
        limit=WriteClass.REPORT,
    ),
)
