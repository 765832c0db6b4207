"""Reading request bodies and path parameters: typed checks with clear 4xx errors."""

from __future__ import annotations

import json
import math
import re
from array import array
from enum import StrEnum
from itertools import accumulate
from typing import Any, TypeVar

from aiohttp import web

from branch_common.i18n import N_
from branch_hub.api.errors import ApiError
from branch_hub.messages import zh
from branch_hub.vocabulary import REQUEST_ID_MAX_CHARS

__all__ = [
    "MAX_JSON_DEPTH",
    "PATH_SAFE",
    "choice",
    "json_body",
    "opt_str",
    "parse_json_object",
    "path_param",
    "req_str",
    "request_id",
]

_E = TypeVar("_E", bound=StrEnum)
PATH_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Limits of a JSON request body: no legitimate request nests deeper than a few levels.
MAX_JSON_DEPTH = 32
# A JSON string (escapes included) and the brackets outside strings, to measure nesting
# without the parser's recursion.
# An unterminated string runs to the end, so the scan stays linear on any input.
_STRING = re.compile(r'"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(ValueError):
    """The parser met something the hub refuses (a duplicate key, a non-finite number)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def json_body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """Parse the body as a JSON object (an empty body is `{}` when `optional`).

    Every malformed body is the caller's error, 400 with a reason code: bad UTF-8, a byte
    order mark, a lone surrogate, nesting deeper than MAX_JSON_DEPTH, a duplicate key,
    NaN or Infinity, a value that is not an object; a body over MAX_BODY is 413.
    """
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise ApiError(400, "body_required", "send a JSON object in the request body")
    return parse_json_object(raw)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A request body's JSON object, or ApiError 400 naming what is wrong with it."""
    text = _utf8_text(raw)
    if _depth(text) > MAX_JSON_DEPTH:
        raise ApiError(
            400, "bad_json_depth", f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        body = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
    except _Refused as exc:
        raise ApiError(400, exc.code, exc.message) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_json", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json_type", "the request body must be a JSON object")
    if _has_lone_surrogate(body):
        raise ApiError(400, "bad_encoding", "the request body has an unpaired \\u escape")
    return body


def _utf8_text(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ApiError(400, "bad_encoding", "the request body starts with a byte order mark")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "bad_encoding", "the request body is not UTF-8 text") from None


def _depth(text: str) -> int:
    """The deepest bracket nesting outside strings (a linear scan, no recursion)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    steps = array("b", brackets.translate(_STEPS).encode("latin-1"))
    return max(accumulate(steps), default=0)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) != len(pairs):
        raise _Refused("bad_duplicate_key", "the request body repeats a key in one object")
    return body


def _no_constant(name: str) -> float:
    raise _Refused("bad_number", f"the request body has {name}, which JSON does not allow")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("bad_number", "the request body has a number too large for the hub")
    return value


def _has_lone_surrogate(body: dict[str, Any]) -> bool:
    """Whether any key or string holds half a UTF-16 pair (it cannot be stored or sent)."""
    pending: list[Any] = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and _SURROGATE.search(value):
            return True
    return False


def req_str(body: dict[str, Any], key: str, *, max_len: int = 200) -> str:
    """A required non-empty string field."""
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"bad_{key}", f"'{key}' must be a non-empty string")
    if len(value) > max_len:
        text = N_("'{key}' must be at most {most} characters")
        raise ApiError(
            400,
            f"bad_{key}",
            text.format(key=key, most=max_len),
            zh(text).format(key=key, most=max_len),
        )
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
        text = N_("'request_id' must be 1-{most} letters, digits, '-' or '_'")
        raise ApiError(
            400,
            "bad_request_id",
            text.format(most=REQUEST_ID_MAX_CHARS),
            zh(text).format(most=REQUEST_ID_MAX_CHARS),
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
