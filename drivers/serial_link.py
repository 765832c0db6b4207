"""Open a serial link by URL: a device path, `serial:///dev/ttyX?baud=N`, `socket://`, `loop://`."""

from __future__ import annotations

import termios
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import serial

from drivers.errors import TransportError

__all__ = ["SERIAL_ERRORS", "open_serial", "split_baud"]

# What a lost port raises: pyserial errors, OS errors, and termios errors from tcflush/tcsetattr.
SERIAL_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)


def split_baud(url: str, default: int) -> tuple[str, int]:
    """Take a `baud=` query parameter out of a URL; return the URL pyserial accepts and the baud."""
    if "://" not in url:
        return url, default
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    baud = default
    kept = []
    for key, value in query:
        if key in ("baud", "baudrate"):
            try:
                baud = int(value)
            except ValueError as exc:
                raise TransportError(f"baud {value!r} in {url} is not a number") from exc
        else:
            kept.append((key, value))
    if parts.scheme == "serial":
        # pyserial has no serial:// handler: the path is the device.
        return parts.path, baud
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), "")), baud


def open_serial(url: str, baudrate: int = 115200, timeout: float = 0.05) -> Any:
    """Open the port named by `url` (8N1, no flow control) or raise TransportError."""
    target, baud = split_baud(url, baudrate)
    try:
        return serial.serial_for_url(target, baudrate=baud, timeout=timeout, write_timeout=2.0)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise TransportError(f"cannot open {url}: {exc}") from exc
