"""The write guard every non-GET route passes first: the device's rate limit, then the disk reserve.

`routes.register` wraps each route's handler with it, from the route's `limit` class, so a write
route cannot be served without a limit (a test checks that every one names a class).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable

from aiohttp import web

from branch_common.i18n import N_
from branch_hub.api.app import HUB, ctx
from branch_hub.api.errors import ApiError
from branch_hub.limits import WriteLimits
from branch_hub.messages import zh
from branch_hub.vocabulary import WriteClass

__all__ = ["check_write", "guarded"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def guarded(handler: Handler, kind: WriteClass) -> Handler:
    """The handler behind the write guard for its class."""

    @functools.wraps(handler)
    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        check_write(request, kind)
        return await handler(request)

    return guarded_handler


def check_write(request: web.Request, kind: WriteClass) -> None:
    """Raise 429 when the calling device's bucket for `kind` is empty, 507 when a write that can
    wait meets the disk reserve."""
    hub = request.app[HUB]
    device = ctx(request).device_id
    if device is not None:
        wait = hub.limits.take(device, kind)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            text = N_("This device sends too many {kind} requests; try again in {seconds} s.")
            raise ApiError(
                429,
                "rate_limited",
                text.format(kind=kind, seconds=seconds),
                zh(text).format(kind=kind, seconds=seconds),
                headers={"Retry-After": str(seconds)},
            )
    if hub.disk.low and not WriteLimits.essential(kind):
        raise ApiError(
            507,
            "disk_reserve",
            "The hub's disk is nearly full: it keeps the space for tickets, calls and outcomes "
            "and takes this kind of write again once branch IT frees space.",
        )
