"""Pseudo-terminal plumbing for serial-device simulators: a pty at a stable symlink, unplug/replug,
a background serving thread, and a JSON-lines control socket."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import socketserver
import threading
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ControlServer", "PtyDevice", "PtyLink", "control"]


class PtyLink:
    """A pty whose follower end is published at `link` (a symlink that survives replugs)."""

    def __init__(self, link: str | os.PathLike[str]) -> None:
        self.link = Path(link)
        self._leader: int | None = None
        self._follower: int | None = None
        self._lock = threading.Lock()
        self.tty_name = ""

    @property
    def plugged(self) -> bool:
        """True while the pty exists."""
        return self._leader is not None

    def plug(self) -> str:
        """Create a new pty and point the symlink at it; return the tty path."""
        with self._lock:
            if self._leader is not None:
                return self.tty_name
            leader, follower = os.openpty()
            tty.setraw(follower)
            tty.setraw(leader)
            # The simulator keeps the follower open so the leader never sees a hang-up while
            # the host has the port closed.
            self._leader, self._follower = leader, follower
            self.tty_name = os.ttyname(follower)
            tmp = self.link.with_name(self.link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.tty_name)
            os.replace(tmp, self.link)
            return self.tty_name

    def unplug(self) -> None:
        """Close the pty (the host sees I/O errors) and remove the symlink."""
        with self._lock:
            for fd in (self._leader, self._follower):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._leader = self._follower = None
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def read(self, timeout: float) -> bytes:
        """Bytes the host wrote, or b"" after `timeout` seconds (or while unplugged)."""
        fd = self._leader
        if fd is None:
            threading.Event().wait(timeout)
            return b""
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return b""
            return os.read(fd, 65536)
        except (OSError, ValueError):
            threading.Event().wait(timeout)
            return b""

    def write(self, data: bytes) -> None:
        """Send bytes to the host (dropped while unplugged)."""
        with self._lock:
            fd = self._leader
            if fd is None:
                return
            view = memoryview(data)
            while view:
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    select.select([], [fd], [], 0.05)
                    continue
                except OSError:
                    return
                view = view[n:]


class PtyDevice:
    """Base of a simulator: serve bytes from a PtyLink in a thread; subclasses implement `on_bytes`."""

    def __init__(self, link: str | os.PathLike[str]) -> None:
        self.pty = PtyLink(link)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def path(self) -> str:
        """The stable symlink path the host opens."""
        return str(self.pty.link)

    def on_bytes(self, data: bytes) -> None:
        """Handle bytes from the host."""
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        """Write bytes to the host."""
        self.pty.write(data)

    def start(self) -> None:
        """Create the pty and start serving."""
        self.pty.plug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=type(self).__name__)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            data = self.pty.read(0.05)
            if data:
                self.on_bytes(data)

    def stop(self) -> None:
        """Stop serving and remove the pty."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.pty.unplug()

    def unplug(self) -> None:
        """Simulate pulling the cable: close the pty."""
        self.pty.unplug()

    def replug(self) -> str:
        """Simulate plugging back in: a new pty behind the same symlink."""
        return self.pty.plug()

    def __enter__(self) -> PtyDevice:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        for line in self.rfile:
            try:
                request = json.loads(line)
                reply = self.server.handler(request if isinstance(request, dict) else {})
            except Exception as exc:
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")


class ControlServer(socketserver.ThreadingUnixStreamServer):
    """JSON-lines control socket: each request line is an object, each reply line too."""

    daemon_threads = True

    def __init__(
        self, path: str | os.PathLike[str], handler: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        self.path = Path(path)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.handler = handler
        super().__init__(str(self.path), _Handler)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and remove the socket file."""
        self.shutdown()
        self.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def control(path: str | os.PathLike[str], timeout: float = 5.0, **request: Any) -> dict[str, Any]:
    """Send one control request to a simulator's control socket and return its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply
