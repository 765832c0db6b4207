"""Reading JSON objects field by field: every wrong shape becomes one typed WireError."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from branch_hub.client._errors import WireError
from branch_hub.vocabulary import REQUEST_ID_MAX_CHARS

__all__ = ["Reader", "check_request_id", "new_request_id", "optional"]

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
_REQUEST_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{REQUEST_ID_MAX_CHARS}}}")


def new_request_id() -> str:
    """A fresh idempotency key for one user action (reuse it when retrying that action)."""
    return secrets.token_hex(12)


def check_request_id(value: object) -> str:
    """Return `value` if it is a valid request id, else raise WireError."""
    if not isinstance(value, str) or not _REQUEST_ID.fullmatch(value):
        raise WireError(f"request_id must be 1-{REQUEST_ID_MAX_CHARS} letters, digits, '-' or '_'")
    return value


def optional(out: dict[str, Any], key: str, value: object) -> dict[str, Any]:
    """Set `key` only when `value` is not None (for keys the wire leaves out when unset)."""
    if value is not None:
        out[key] = value
    return out


class Reader:
    """Typed access to one JSON object; `what` names it in error messages."""

    def __init__(self, value: object, what: str) -> None:
        if not isinstance(value, Mapping):
            raise WireError(f"{what} is not a JSON object")
        self.data: Mapping[str, Any] = value
        self.what = what

    def _bad(self, key: str, wanted: str) -> WireError:
        return WireError(f"{self.what}.{key} must be {wanted}")

    def has(self, key: str) -> bool:
        """True when the key is present (even with null)."""
        return key in self.data

    def text(self, key: str) -> str:
        """A required string."""
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def opt_text(self, key: str) -> str | None:
        """A string, or None when absent or null."""
        return None if self.data.get(key) is None else self.text(key)

    def whole(self, key: str) -> int:
        """A required whole number (not a boolean)."""
        value = self.data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(key, "a whole number")
        return value

    def opt_whole(self, key: str) -> int | None:
        """A whole number, or None when absent or null."""
        return None if self.data.get(key) is None else self.whole(key)

    def number(self, key: str) -> float:
        """A required finite number (whole or not)."""
        value = self.data.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._bad(key, "a number")
        if not math.isfinite(value):
            raise self._bad(key, "a finite number")
        return value

    def flag(self, key: str) -> bool:
        """A required true/false."""
        value = self.data.get(key)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def enum(self, key: str, kind: type[_E]) -> _E:
        """A required member of a vocabulary enum."""
        value = self.text(key)
        try:
            return kind(value)
        except ValueError:
            raise self._bad(key, f"a {kind.__name__}") from None

    def opt_enum(self, key: str, kind: type[_E]) -> _E | None:
        """A vocabulary member, or None when absent or null."""
        return None if self.data.get(key) is None else self.enum(key, kind)

    def obj(self, key: str) -> Reader:
        """A required nested object."""
        return Reader(self.data.get(key), f"{self.what}.{key}")

    def mapping(self, key: str) -> dict[str, Any]:
        """A required nested object, kept as a plain dict."""
        value = self.data.get(key)
        if not isinstance(value, Mapping):
            raise self._bad(key, "a JSON object")
        return dict(value)

    def opt_mapping(self, key: str) -> dict[str, Any] | None:
        """A nested object kept as a dict, or None when absent or null."""
        return None if self.data.get(key) is None else self.mapping(key)

    def items(self, key: str, parse: Callable[[object], _T]) -> tuple[_T, ...]:
        """A required list, each item parsed by `parse`."""
        value = self.data.get(key)
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return tuple(parse(item) for item in value)

    def texts(self, key: str) -> tuple[str, ...]:
        """A required list of strings."""

        def one(item: object) -> str:
            if not isinstance(item, str):
                raise self._bad(key, "a list of strings")
            return item

        return self.items(key, one)

    def mappings(self, key: str) -> tuple[dict[str, Any], ...]:
        """A required list of objects kept as dicts."""

        def one(item: object) -> dict[str, Any]:
            if not isinstance(item, Mapping):
                raise self._bad(key, "a list of objects")
            return dict(item)

        return self.items(key, one)

    def minutes(self, key: str) -> tuple[int, int]:
        """A [low, high] pair of whole minutes."""
        value = self.data.get(key)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise self._bad(key, "a [low, high] pair of whole minutes")
        return value[0], value[1]

    def request_id(self) -> str:
        """The command's request id."""
        if "request_id" not in self.data:
            raise self._bad("request_id", "present")
        return check_request_id(self.data["request_id"])

    def rest(self, *known: str) -> dict[str, Any]:
        """Every key not named in `known` (kept so a model can give its JSON back unchanged)."""
        return {k: v for k, v in self.data.items() if k not in known}
