"""What every config section shares: strict models and errors that name their key."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ConfigError(ValueError):
    """A branch configuration file is unreadable or invalid."""


class Strict(BaseModel):
    """A config section: unknown keys are refused and values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class KeyedError(ValueError):
    """A cross-field error that knows which key it belongs to."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def require_unique(items: list[Any], attr: str, section: str, what: str) -> None:
    """Refuse two entries of a section that share the value of one attribute."""
    seen: dict[Any, int] = {}
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            raise KeyedError(
                f"{section}[{i}].{attr}",
                f"duplicate {what} {value!r} (also used by {section}[{seen[value]}])",
            )
        seen[value] = i
