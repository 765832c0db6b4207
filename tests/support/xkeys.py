"""Type into an X display as a USB barcode scanner does: key presses (XTEST via libXtst)."""

from __future__ import annotations

import ctypes
import time

__all__ = ["type_text"]

_NAMES = {
    ":": "colon", "/": "slash", "?": "question", "=": "equal", "&": "ampersand", "%": "percent",
    ".": "period", "-": "minus", "_": "underscore", "\n": "Return", " ": "space",
}  # fmt: skip


def _libs() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    x11 = ctypes.CDLL("libX11.so.6")
    xtst = ctypes.CDLL("libXtst.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XStringToKeysym.restype = ctypes.c_ulong
    x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
    x11.XKeysymToKeycode.restype = ctypes.c_ubyte
    x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XkbKeycodeToKeysym.restype = ctypes.c_ulong
    x11.XkbKeycodeToKeysym.argtypes = [ctypes.c_void_p, ctypes.c_ubyte, ctypes.c_int, ctypes.c_int]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
    xtst.XTestFakeMotionEvent.argtypes = [
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_ulong
    ]  # fmt: skip
    return x11, xtst


def type_text(display: str, text: str, pause_s: float = 0.004) -> None:
    """Press and release the keys for `text` (US layout, shift where needed) on `display`."""
    x11, xtst = _libs()
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        raise RuntimeError(f"cannot open display {display}")
    try:
        xtst.XTestFakeMotionEvent(dpy, 0, 200, 200, 0)  # keyboard focus follows the pointer
        shift = x11.XKeysymToKeycode(dpy, x11.XStringToKeysym(b"Shift_L"))
        for char in text:
            keysym = x11.XStringToKeysym(_NAMES.get(char, char).encode())
            keycode = x11.XKeysymToKeycode(dpy, keysym)
            if not keycode:
                raise ValueError(f"no key for {char!r}")
            shifted = x11.XkbKeycodeToKeysym(dpy, keycode, 0, 0) != keysym
            if shifted:
                xtst.XTestFakeKeyEvent(dpy, shift, 1, 0)
            xtst.XTestFakeKeyEvent(dpy, keycode, 1, 0)
            xtst.XTestFakeKeyEvent(dpy, keycode, 0, 0)
            if shifted:
                xtst.XTestFakeKeyEvent(dpy, shift, 0, 0)
            x11.XFlush(dpy)
            time.sleep(pause_s)
    finally:
        x11.XCloseDisplay(dpy)
