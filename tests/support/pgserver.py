"""A throwaway PostgreSQL server for tests and benches: Debian's binaries, a temp folder, a socket.

`initdb` into a fresh folder under /tmp, `pg_ctl start` listening only on a unix socket in that
folder, `pg_ctl stop` and the folder removed afterwards. PostgreSQL refuses to run as root, so
as root (here and in CI) the server runs as the `postgres` user (or `nobody`) via setpriv, with
the folder given to it. Tests get a fresh database each from the `pg_url` fixture; without
server binaries they are skipped, saying so.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

__all__ = [
    "PgServer",
    "collector_database",
    "pg_server",
    "pg_url",
    "postgres_bindir",
    "running_server",
]

_names = itertools.count(1)


def postgres_bindir() -> Path | None:
    """The folder of the newest PostgreSQL server binaries on this machine, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _server_user() -> tuple[int, int] | None:
    """The uid and gid to run the server as: None when not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


class PgServer:
    """One PostgreSQL server in a temp folder, reached by its unix socket there."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable  # fsync on, as in production (benches); off for tests
        # Under /tmp whatever TMPDIR says: the server's user must reach it, and a unix socket's
        # path is at most 107 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
        self.data = self.folder / "data"
        self.user = _server_user()

    def _as_server(self, *argv: str) -> list[str]:
        if self.user is None:
            return list(argv)
        uid, gid = self.user
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *argv]

    def _run(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run(
            self._as_server(*argv), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")

    def start(self) -> None:
        """initdb and start; wait until it accepts connections."""
        if self.user is not None:
            os.chown(self.folder, *self.user)
        initdb = str(self.bindir / "initdb")
        self._run(initdb, "-D", str(self.data), "-U", "hq", "-A", "trust", "-E", "UTF8",
                  "--no-locale", *(() if self.durable else ("--no-sync",)))  # fmt: skip
        options = [f"-k {self.folder}", "-c listen_addresses=''", "-c max_connections=120"]
        if not self.durable:
            options += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.folder / "server.log"), "-w", "-t", "60", "-o", " ".join(options),
                  "start")  # fmt: skip

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                      "stop", timeout=60)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The libpq URL of a database on this server (its unix socket)."""
        return f"postgresql://hq@/{database}?host={quote(str(self.folder), safe='')}"

    def create_database(self, prefix: str = "collector") -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name made here, never a caller's
        return self.url(name)


@contextlib.contextmanager
def running_server(*, durable: bool = False) -> Iterator[PgServer]:
    """A started server for a with-block; RuntimeError when this machine has no binaries."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries: apt-get install postgresql")
    server = PgServer(bindir, durable=durable)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway server for the test session (skipped without server binaries)."""
    if postgres_bindir() is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
    with running_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return pg_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def collector_database(request: pytest.FixtureRequest) -> str | None:
    """Run a collector test on both stores: None for the SQLite file, else a PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url
