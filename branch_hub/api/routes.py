"""The route table: each route declared once, with what the API document says about it.

`create_app` registers the handlers from these rows; `python -m branch_hub.api.spec` writes
docs/openapi.yaml from the same rows and the device client's wire models.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from branch_hub.api.limits import guarded
from branch_hub.vocabulary import STAFF_DEVICE_KINDS, STAFF_ROLES, DeviceKind, Role, WriteClass

__all__ = [
    "ALL_KINDS",
    "BOARD_KINDS",
    "Body",
    "Handler",
    "Param",
    "Reply",
    "Route",
    "Shape",
    "register",
    "staff_route",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A JSON body's shape: a wire model class of the device client, or an explicit JSON Schema.
Shape = type | Mapping[str, Any]

ALL_KINDS = frozenset(DeviceKind)
BOARD_KINDS = frozenset({DeviceKind.DISPLAY, DeviceKind.TABLET, DeviceKind.COUNTER})


@dataclass(frozen=True)
class Param:
    """A path or query parameter."""

    name: str
    schema: Mapping[str, Any]
    where: Literal["path", "query"] = "path"
    example: str | None = None

    @classmethod
    def matching(cls, name: str, pattern: str, example: str | None = None) -> Param:
        """A path parameter the handler checks against a regular expression."""
        return cls(name, {"type": "string", "pattern": pattern}, example=example)


@dataclass(frozen=True)
class Body:
    """A JSON request body: its shape, whether it may be left out, and a valid example."""

    shape: Shape
    required: bool = True
    example: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Reply:
    """A success answer: what it means and its JSON shape (None: no JSON body)."""

    description: str
    shape: Shape | None = None
    media_type: str = "application/json"


@dataclass(frozen=True)
class Route:
    """One method on one path, with who may call it and what it answers.

    `kinds`: device kinds whose certificate may call it (None: no certificate needed).
    `roles`: staff roles allowed (None: no staff session needed). `session_kinds`: device
    kinds that must carry a staff session (every allowed kind when `roles` is set).
    `refusals`: error statuses the handler or the domain gives, besides those every guard
    gives (401/403 for the device and the session, 400/413 for a body). `limit`: the per-device
    write budget a non-GET route spends (429 when empty; 507 under the disk reserve for a class
    that is not essential).
    """

    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    kinds: frozenset[DeviceKind] | None
    replies: Mapping[int, Reply]
    roles: frozenset[Role] | None = None
    session_kinds: frozenset[DeviceKind] = frozenset()
    body: Body | None = None
    params: tuple[Param, ...] = ()
    refusals: frozenset[int] = frozenset()
    websocket: bool = False
    description: str | None = None
    limit: WriteClass | None = None

    def needs_session(self) -> frozenset[DeviceKind]:
        """The device kinds that must carry a staff session to call this route."""
        if self.roles is not None and self.kinds is not None:
            return self.kinds | self.session_kinds
        return self.session_kinds


def staff_route(
    method: str,
    path: str,
    handler: Handler,
    operation_id: str,
    summary: str,
    replies: Mapping[int, Reply],
    *,
    roles: frozenset[Role] = STAFF_ROLES,
    **more: Any,
) -> Route:
    """A route for a logged-in staff member on a tablet or counter."""
    return Route(
        method,
        path,
        handler,
        operation_id,
        summary,
        STAFF_DEVICE_KINDS,
        replies,
        roles=roles,
        **more,
    )


def register(app: web.Application, routes: tuple[Route, ...]) -> None:
    """Add the routes' handlers to the application (a GET also answers HEAD); every other
    method behind its write guard (a write route without a limit class is refused here)."""
    for route in routes:
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)
            continue
        if route.limit is None:
            raise ValueError(f"{route.method} {route.path} names no write limit class")
        app.router.add_route(route.method, route.path, guarded(route.handler, route.limit))
