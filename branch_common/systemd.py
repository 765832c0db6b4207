"""systemd's side of a service: readiness and watchdog notifications, and journald log lines.

The notify protocol is one datagram per message to the Unix socket in `$NOTIFY_SOCKET`
(sd_notify(3)); an abstract socket is named with a leading `@`. Outside systemd every call is a
no-op. Under journald (`$JOURNAL_STREAM` set) log lines carry a `<N>` syslog priority prefix and
no timestamp of their own: the journal stamps each line, so a second time would only double it.
"""

from __future__ import annotations

import logging
import os
import socket

__all__ = [
    "JournalFormatter",
    "configure_logging",
    "notify",
    "under_journald",
    "watchdog_interval_s",
]

# logging level -> syslog priority (sd-daemon(3): SD_ERR 3, SD_WARNING 4, SD_INFO 6, SD_DEBUG 7)
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def notify(*messages: str) -> bool:
    """Send `READY=1`, `WATCHDOG=1`, `STATUS=...` and the like; False outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto("\n".join(messages).encode("utf-8"), address)
        except OSError:
            return False  # systemd went away: nothing to tell
    return True


def watchdog_interval_s() -> float | None:
    """How often to send `WATCHDOG=1` (half of `$WATCHDOG_USEC`), or None when unwatched."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


def under_journald() -> bool:
    """True when stderr is connected to the journal (systemd sets `$JOURNAL_STREAM`)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        st = os.fstat(2)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


class JournalFormatter(logging.Formatter):
    """`<priority>logger: message`, the form journald parses into a level."""

    def format(self, record: logging.LogRecord) -> str:
        """One journal line (continuation lines of a traceback keep the record's priority)."""
        priority = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        text = f"{record.name}: {super().format(record)}"
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr: journal lines under systemd, time-stamped lines anywhere else."""
    handler = logging.StreamHandler()
    if under_journald():
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
