"""Reading request bodies and path parameters: typed checks with clear 4xx errors."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from branch_hub.api.errors import ApiError
from branch_hub.vocabulary import REQUEST_ID_MAX_CHARS

__all__ = ["PATH_SAFE", "choice", "json_body", "opt_str", "path_param", "req_str", "request_id"]

_E = TypeVar("_E", bound=StrEnum)
PATH_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def json_body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """Parse the body as a JSON object (an empty body is `{}` when `optional`)."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise ApiError(400, "body_required", "send a JSON object in the request body")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "bad_json", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the request body must be a JSON object")
    return body


def req_str(body: dict[str, Any], key: str, *, max_len: int = 200) -> str:
    """A required non-empty string field."""
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"bad_{key}", f"'{key}' must be a non-empty string")
    if len(value) > max_len:
        raise ApiError(400, f"bad_{key}", f"'{key}' must be at most {max_len} characters")
    return value.strip()


def opt_str(body: dict[str, Any], key: str, *, max_len: int = 200) -> str | None:
    """An optional string field (absent or null gives None)."""
    if body.get(key) is None:
        return None
    return req_str(body, key, max_len=max_len)


def path_param(request: web.Request, name: str, pattern: re.Pattern[str] = PATH_SAFE) -> str:
    """A path parameter that must match `pattern`, else 404 (no such thing can exist)."""
    value = request.match_info.get(name, "")
    if not pattern.fullmatch(value):
        raise ApiError(404, f"unknown_{name}", f"no such {name.replace('_', ' ')}")
    return value


_REQUEST_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{REQUEST_ID_MAX_CHARS}}}")


def request_id(body: dict[str, Any]) -> str | None:
    """The optional idempotency key of a command (a retry sends the same one)."""
    value = body.get("request_id")
    if value is None:
        return None
    if not isinstance(value, str) or not _REQUEST_ID.fullmatch(value):
        raise ApiError(
            400,
            "bad_request_id",
            f"'request_id' must be 1-{REQUEST_ID_MAX_CHARS} letters, digits, '-' or '_'",
            "请求编号格式无效。",
        )
    return value


def choice(value: str | None, allowed: type[_E], key: str) -> _E | None:
    """An optional value that must be one of an enum's words."""
    if value is None:
        return None
    try:
        return allowed(value)
    except ValueError:
        words = ", ".join(str(v.value) for v in allowed)
        raise ApiError(400, f"bad_{key}", f"'{key}' must be one of {words}") from None
