"""Run pcscd for tests and the demo: start it, wait for the vpcd readers, kill and restart it.

Only one pcscd can run on a machine. `PcscDaemon` reuses a running one that already lists the
vpcd readers (owned=False: it is then never stopped), and kills a stale pcscd that an earlier
PcscDaemon started (found by the PID file it wrote), never any other process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from drivers.errors import DeviceError, DeviceTimeout

__all__ = ["VPCD_READERS", "PcscDaemon", "list_readers"]

VPCD_READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")
PIDFILE = Path(tempfile.gettempdir()) / "branch-edge-pcscd.pid"


def list_readers() -> list[str] | None:
    """List PC/SC readers, or None when pcscd does not answer."""
    from smartcard import scard

    try:
        hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    except Exception:  # pyscard raises plain exceptions from its C layer
        return None
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = scard.SCardListReaders(ctx, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            return None
        return list(readers)
    finally:
        scard.SCardReleaseContext(ctx)


def _is_pcscd(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return Path(cmdline.split(b"\0")[0].decode(errors="replace")).name == "pcscd"


class PcscDaemon:
    """A pcscd process with the vpcd readers, as a context manager."""

    def __init__(self, debug: bool = False, log_path: Path | None = None) -> None:
        self.debug = debug
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.owned = False

    def __enter__(self) -> PcscDaemon:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @staticmethod
    def _ready(readers: list[str] | None) -> bool:
        return readers is not None and all(
            any(r.startswith(v) for r in readers) for v in VPCD_READERS
        )

    def _kill_stale(self) -> None:
        try:
            pid = int(PIDFILE.read_text().strip())
        except (OSError, ValueError):
            return
        if _is_pcscd(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                if not _is_pcscd(pid):
                    break
                time.sleep(0.05)
        PIDFILE.unlink(missing_ok=True)

    def start(self, timeout: float = 15.0) -> None:
        """Start pcscd (or adopt a running one) and wait until the vpcd readers are listed."""
        if self.proc is not None and self.proc.poll() is None:
            return
        self._kill_stale()
        if self._ready(list_readers()):
            self.owned = False
            return
        exe = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(exe).exists():
            raise DeviceError("pcscd is not installed (Debian package pcscd)")
        args = [exe, "--foreground"]
        if self.debug:
            args += ["--debug", "--apdu"]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        PIDFILE.write_text(str(self.proc.pid))
        self.owned = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DeviceError(f"pcscd exited with status {self.proc.returncode} at start")
            if self._ready(list_readers()):
                return
            time.sleep(0.1)
        self.stop()
        raise DeviceTimeout("pcscd did not list the vpcd readers in time")

    def kill(self) -> None:
        """Kill pcscd hard, as a crash would (only the one this object started)."""
        if self.proc is not None and self.owned:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
            PIDFILE.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop pcscd if this object started it."""
        if self.proc is None or not self.owned:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
        PIDFILE.unlink(missing_ok=True)

    def restart(self) -> None:
        """Kill and start again."""
        self.kill()
        self.start()
