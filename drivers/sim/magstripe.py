"""A magnetic stripe reader simulator on a pty: keyboard-wedge lines or an MSR206 (ESC r).

The reader side opens `path` (a symlink to the current pty follower), exactly as it would open
/dev/ttyUSB0. Faults switch at runtime through methods or the control socket (one text line per
command): `swipe TEXT` | `fault none|bad_swipe|garbage|mute` | `unplug` | `replug` | `status`.
"""

from __future__ import annotations

import contextlib
import enum
import os
import socket
import tempfile
import threading
import tty
from pathlib import Path

__all__ = ["MagstripeSimulator", "MsrFault", "card_swipe", "msr_frame", "passbook_swipe"]


class MsrFault(enum.StrEnum):
    """Switchable reader faults."""

    none = "none"
    bad_swipe = "bad_swipe"  # MSR: status 0x31 read error; wedge: a line of noise
    garbage = "garbage"  # bytes that are not a response
    mute = "mute"  # ignore commands / swipes


def card_swipe(pan: str, expiry: str, service_code: str = "220", name: str | None = None) -> str:
    """Tracks 1 and 2 of a bank card as a wedge reader types them (ISO/IEC 7813)."""
    t1 = f"%B{pan}^{(name or '').upper():<2}^{expiry}{service_code}0000000000?" if name else ""
    return f"{t1};{pan}={expiry}{service_code}0000000000?"


def passbook_swipe(account: str, voucher: str = "0001", book: str = "00012345") -> str:
    """Tracks 2 and 3 of a passbook: account=voucher code=book number (docs/protocols.md#passbooks, M5)."""
    return f";{account}={voucher}={book}?+{account}={voucher}=000={book}=1?"


def msr_frame(tracks: dict[int, str], status: int = 0x30) -> bytes:
    """Build an MSR206 ISO read answer: ESC s ESC 1 t1 ESC 2 t2 ESC 3 t3 ? FS ESC status."""
    out = bytearray(b"\x1bs")
    for n in (1, 2, 3):
        out += b"\x1b" + str(n).encode() + tracks.get(n, "").encode("ascii")
    return bytes(out + b"?\x1c\x1b" + bytes([status]))


def _wedge_to_tracks(text: str) -> dict[int, str]:
    from drivers.magstripe.tracks import split_swipe

    return {n: body for n, body in split_swipe(text).items()}


class MagstripeSimulator:
    """A stripe reader on a pty, in `wedge` or `msr` mode."""

    def __init__(self, mode: str = "wedge", path: Path | None = None) -> None:
        if mode not in ("wedge", "msr"):
            raise ValueError("mode is 'wedge' or 'msr'")
        self.mode = mode
        self.path = path or Path(tempfile.mkdtemp(prefix="msr-")) / "ttyMSR"
        self.fault = MsrFault.none
        self._lock = threading.Lock()
        self._master: int | None = None
        self._follower: int | None = None
        self._armed = False
        self._pending: list[str] = []
        self._thread: threading.Thread | None = None
        self.replug()

    # -- device life cycle
    def replug(self) -> None:
        """Plug the reader in (a fresh pty behind the same path)."""
        master, follower = os.openpty()
        tty.setraw(follower)
        tmp = self.path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(follower))
        tmp.replace(self.path)
        with self._lock:
            # Keep a follower fd open: with none open, reads on the master fail with EIO.
            self._master, self._follower = master, follower
            self._armed = False
        if self.mode == "msr":
            self._thread = threading.Thread(target=self._serve, args=(master,), daemon=True)
            self._thread.start()

    def unplug(self) -> None:
        """Pull the reader's cable: the reader side gets EIO/end of input."""
        with self._lock:
            master, self._master = self._master, None
            follower, self._follower = self._follower, None
        for fd in (master, follower):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the simulator."""
        self.unplug()

    @property
    def plugged(self) -> bool:
        """Tell whether the reader is plugged in."""
        return self._master is not None

    def set_fault(self, fault: MsrFault | str) -> None:
        """Switch a fault on (or off with 'none')."""
        self.fault = MsrFault(fault)

    # -- swipes
    def swipe(self, text: str) -> None:
        """Swipe a card/passbook whose tracks are given as wedge text (%..?;..?+..?)."""
        if self.fault is MsrFault.mute:
            return
        if self.mode == "wedge":
            line = "#?;=?" if self.fault is MsrFault.bad_swipe else text
            data = b"\x00\xff\x1b" if self.fault is MsrFault.garbage else line.encode() + b"\r\n"
            self._write(data)
            return
        with self._lock:
            self._pending.append(text)
            armed = self._armed
        if armed:
            self._answer()

    def _write(self, data: bytes) -> None:
        with self._lock:
            master = self._master
        if master is not None:
            with contextlib.suppress(OSError):
                os.write(master, data)

    def _answer(self) -> None:
        with self._lock:
            if not self._pending:
                return
            text = self._pending.pop(0)
            self._armed = False
        if self.fault is MsrFault.garbage:
            self._write(b"\x1bs\x1b9junk\x00")
        elif self.fault is MsrFault.bad_swipe:
            self._write(msr_frame({}, 0x31))
        else:
            self._write(msr_frame(_wedge_to_tracks(text)))

    def _serve(self, master: int) -> None:
        buf = bytearray()
        while True:
            try:
                chunk = os.read(master, 64)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 2:
                i = buf.find(b"\x1b")
                if i < 0:
                    buf.clear()
                    break
                del buf[:i]
                if len(buf) < 2:
                    break
                cmd = buf[1]
                del buf[:2]
                if self.fault is MsrFault.mute:
                    continue
                if cmd == ord("r"):
                    with self._lock:
                        self._armed = True
                    self._answer()
                elif cmd == ord("a"):
                    with self._lock:
                        self._armed = False

    # -- control socket
    def handle(self, line: str) -> str:
        """Execute one control command and return the answer line."""
        cmd, _, arg = line.strip().partition(" ")
        try:
            if cmd == "swipe":
                self.swipe(arg)
            elif cmd == "fault":
                self.set_fault(arg)
            elif cmd == "unplug":
                self.unplug()
            elif cmd == "replug":
                self.replug()
            elif cmd != "status":
                return f"error unknown command {cmd!r}"
        except ValueError as exc:
            return f"error {exc}"
        return (
            f"ok mode={self.mode} plugged={int(self.plugged)} fault={self.fault} path={self.path}"
        )

    def serve_control(self, port: int = 0) -> tuple[socket.socket, int]:
        """Answer control commands on a loopback TCP port in a thread; return (server, port)."""
        server = socket.create_server(("127.0.0.1", port))

        def run() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as f:
                    for line in f:
                        f.write(self.handle(line) + "\n")
                        f.flush()

        threading.Thread(target=run, daemon=True).start()
        return server, server.getsockname()[1]
