"""Helpers for the outbox tests: a real collector process and line-reading child processes."""

from __future__ import annotations

import contextlib
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sync.static_server import make_test_pki


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Child:
    """A child process whose stdout lines are collected by a thread."""

    def __init__(
        self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
            cwd=cwd,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        # stderr is drained as it comes: a child logging every failed round while HQ is down
        # would otherwise fill the pipe and block in a write, and never print what is awaited.
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self._errors_read = threading.Thread(target=self._read_errors, daemon=True)
        self._errors_read.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def _read_errors(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.errors.append(line)

    def error_text(self, timeout: float = 10.0) -> str:
        """Everything the child wrote to stderr (after it ended: all of it)."""
        if self.proc.poll() is not None:
            self._errors_read.join(timeout)
        return "".join(self.errors)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        """Wait until a stdout line contains `text`; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    err = self.error_text()
                    raise AssertionError(
                        f"child exited {self.proc.returncode}: {err[-2000:]}"
                    ) from None
                continue
            self.seen.append(line)
            if text in line:
                return line
        errors = [e.rstrip("\n") for e in self.errors[-5:]]
        raise AssertionError(
            f"timed out waiting for {text!r}; last lines {self.seen[-5:]} {errors}"
        )

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait."""
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        self.proc.kill()
        self.proc.wait(10)


class Hq:
    """HQ's side for a test: its TLS PKI, a port, and a collector process when started."""

    def __init__(
        self, folder: Path, branch_keys: dict[str, Path], database: str | None = None
    ) -> None:
        self.folder = folder
        self.database = database  # a PostgreSQL URL, or None for the SQLite file `db`
        self.ca, self.cert, self.key = make_test_pki(folder / "hq-pki")
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.db = folder / "collector.db"
        self.branch_keys = branch_keys
        self.child: Child | None = None

    def start(self) -> None:
        """Start the collector process and wait until it listens."""
        args = [
            sys.executable,
            "-m",
            "sync.cli",
            "collector",
            "--listen",
            f"127.0.0.1:{self.port}",
            *self.store_args,
            "--cert",
            str(self.cert),
            "--key",
            str(self.key),
        ]
        for branch, path in self.branch_keys.items():
            args += ["--branch-key", f"{branch}={path}"]
        self.child = Child(args)
        self.child.wait_for("listening on", 30)

    @property
    def store_args(self) -> list[str]:
        """The `branch-sync` arguments naming this collector's store."""
        if self.database is not None:
            return ["--database", self.database]
        return ["--db", str(self.db)]

    @property
    def store_target(self) -> Path | str:
        """What CollectorStore and AnchorStore open to read this collector's store."""
        return self.database if self.database is not None else self.db

    def stop(self) -> None:
        """Stop the collector."""
        if self.child is not None:
            self.child.stop()
            self.child = None


@contextlib.contextmanager
def running(hq: Hq) -> Iterator[Hq]:
    """Run the collector for a with-block."""
    hq.start()
    try:
        yield hq
    finally:
        hq.stop()
