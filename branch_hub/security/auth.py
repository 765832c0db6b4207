"""Fill a request's staff identity from its bearer token (used by the context middleware)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from branch_hub.context import RequestContext
from branch_hub.security.sessions import Session, SessionStore

__all__ = ["bearer_token", "with_staff"]

MAX_TOKEN_LEN = 256


def bearer_token(header: str | None) -> str | None:
    """Return the token of an 'Authorization: Bearer TOKEN' header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LEN:
        return ""  # present but unusable
    return token


def with_staff(
    context: RequestContext,
    sessions: SessionStore,
    header: str | None,
    is_disabled: Callable[[str], bool] | None = None,
) -> RequestContext:
    """Return the context with staff_id/role from a live session bound to the calling device."""
    token = bearer_token(header)
    if token is None:
        return context
    if not token or context.device_id is None:
        return dataclasses.replace(context, session_problem="unknown")
    found = sessions.resolve(token, context.device_id)
    if not isinstance(found, Session):
        return dataclasses.replace(context, session_problem=str(found))
    if is_disabled is not None and is_disabled(found.staff_id):
        # Disabled by branch IT (maybe from another process): the session ends now.
        sessions.end(token)
        return dataclasses.replace(context, session_problem="unknown")
    return dataclasses.replace(context, staff_id=found.staff_id, role=found.role)
