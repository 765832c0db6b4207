"""`tr` for kv files: `tr._("…")` translates, and the rule runs again when the language switches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.event import Observable

from tablet import i18n

__all__ = ["tr"]


class _Translations(Observable):  # type: ignore[misc]
    """`tr` for kv: `tr._("…")` translates, and every kv rule using it re-runs on a switch.

    Kivy's kv compiler binds a rule `tr._(...)` to the attribute `_` of `tr` through `fbind`;
    keeping those callbacks and calling them on `use_language` is the i18n pattern of Kivy's
    documentation (an `Observable` whose `fbind` records the rule).
    """

    def __init__(self) -> None:
        super().__init__()
        self._rules: dict[int, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        self._next_uid = 1

    def _(self, message: str) -> str:
        """`message` in the language shown now."""
        return i18n._(message)

    def fbind(self, name: str, func: Callable[..., Any], *args: Any, **_kw: Any) -> int:
        """Remember a kv rule that reads `tr._` (any other name binds nothing)."""
        if name != "_":
            return 0
        uid = self._next_uid
        self._next_uid += 1
        self._rules[uid] = (func, args)
        return uid

    def funbind(self, name: str, func: Callable[..., Any], *args: Any, **_kw: Any) -> None:
        """Forget a rule bound with `fbind`."""
        if name == "_":
            for uid, rule in list(self._rules.items()):
                if rule == (func, args):
                    del self._rules[uid]

    def unbind_uid(self, name: str, uid: int) -> None:
        """Forget a rule by the uid `fbind` gave (Kivy's Builder unbinds this way)."""
        if name == "_":
            self._rules.pop(uid, None)

    def rebind(self) -> None:
        """Run every remembered rule again: its text is now in the new language."""
        for uid, (func, args) in list(self._rules.items()):
            try:
                func(*args, self, None)
            except ReferenceError:  # the rule's widget is gone
                self._rules.pop(uid, None)


tr = _Translations()
i18n.on_switch.append(tr.rebind)
