"""A throwaway Debian 12 root for the package install test: unpacked from `.cache/debian-root.tar`
(made by `./run test` or `./run package` with debootstrap), entered with chroot, /proc and /dev
bound in and unbound again; the machine running the tests is never changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
ROOT_TAR = CACHE / "debian-root.tar"
WHEELHOUSE = CACHE / "wheelhouse"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def why_not_ready() -> str:
    """Why the install test cannot run here, or "" when it can."""
    if os.geteuid() != 0:
        return "chroot and mounts need root"
    if not ROOT_TAR.is_file():
        return (
            f"no {ROOT_TAR.relative_to(ROOT)}: `./run package` prepares it (needs the network once)"
        )
    fresh = subprocess.run(
        ["bash", str(ROOT / "packaging/deb/wheelhouse.sh"), "--check", str(WHEELHOUSE)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if fresh.returncode != 0:
        return "the wheelhouse is missing or older than the source: run `./run package`"
    return ""


class DebianRoot:
    """An unpacked root; `sh` runs a command line in it, as root or as a user, cleanly."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def argv(self, command: str, user: str = "") -> list[str]:
        """The host command line that runs `command` (a shell line) inside the root."""
        env = ["/usr/bin/env", "-i", PATH, "HOME=/root", "LANG=C.UTF-8"]
        inner = ["/bin/sh", "-c", f"cd {'/' if user else '/root'} && {command}"]
        if user:
            inner = ["runuser", "-u", user, "--", *inner]
        return ["chroot", str(self.path), *env, *inner]

    def sh(self, command: str, user: str = "", stdin: str = "") -> str:
        """Run a shell line inside the root; fail the test on a non-zero exit; return stdout."""
        done = subprocess.run(
            self.argv(command, user),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
        return done.stdout


@contextmanager
def debian_root() -> Iterator[DebianRoot]:
    """Unpack the cached root into a temporary folder, bind /proc and /dev; undo it all after."""
    top = Path(tempfile.mkdtemp(prefix="branch-edge-root-", dir="/var/tmp"))
    root = top / "root"
    root.mkdir()
    mounted: list[Path] = []
    try:
        subprocess.run(["tar", "-C", str(root), "-xf", str(ROOT_TAR)], check=True, timeout=300)
        for args, name in ((["-t", "proc", "proc"], "proc"), (["--bind", "/dev"], "dev")):
            subprocess.run(["mount", *args, str(root / name)], check=True, timeout=30)
            mounted.append(root / name)
        yield DebianRoot(root)
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", str(target)], check=False, timeout=30)
        if any(os.path.ismount(target) for target in mounted):
            raise RuntimeError(f"{root}: still mounted; not removing it (umount by hand)")
        shutil.rmtree(top, ignore_errors=True)
