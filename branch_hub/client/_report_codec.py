"""Reading and writing plain-data wire models by their dataclass fields (the report's shapes).

A field's type says how its JSON is read: str, int, float, bool, a nested model, `X | None`,
`tuple[X, ...]` (a list) or `dict[str, int]` (an object of counts). Anything else is a WireError.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from branch_hub.client._errors import WireError

__all__ = ["read_model", "write_model"]

_M = TypeVar("_M")


def read_model(cls: type[_M], value: object, what: str) -> _M:
    """Parse a JSON object into the dataclass `cls`; raise WireError on a wrong shape."""
    if not isinstance(value, Mapping):
        raise WireError(f"{what} is not a JSON object")
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: _read(hints[f.name], value.get(f.name), f"{what}.{f.name}")
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    }
    return cls(**fields)


def _read(kind: Any, value: object, what: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        return _read(next(a for a in args if a is not type(None)), value, what)
    if origin is tuple:
        if not isinstance(value, list):
            raise WireError(f"{what} must be a list")
        return tuple(_read(args[0], item, f"{what}[]") for item in value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise WireError(f"{what} must be a JSON object")
        return {str(k): _read(args[1], v, f"{what}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(kind):
        return read_model(kind, value, what)  # type: ignore[arg-type]
    return _scalar(kind, value, what)


def _scalar(kind: Any, value: object, what: str) -> Any:
    if kind is bool and isinstance(value, bool):
        return value
    if isinstance(value, bool):
        raise WireError(f"{what} must not be true or false")
    if kind is int and isinstance(value, int):
        return value
    if kind is float and isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    raise WireError(f"{what} must be a {getattr(kind, '__name__', kind)}")


def write_model(model: object) -> dict[str, Any]:
    """The JSON object of a dataclass model (nested models and tuples written out)."""
    return {f.name: _write(getattr(model, f.name)) for f in dataclasses.fields(model)}  # type: ignore[arg-type]


def _write(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return write_model(value)
    if isinstance(value, tuple):
        return [_write(v) for v in value]
    if isinstance(value, dict):
        return {k: _write(v) for k, v in value.items()}
    return value
