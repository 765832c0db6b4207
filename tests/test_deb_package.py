"""The hub machine's Debian package, built from a stand-in wheelhouse: what it holds, what its
maintainer scripts may do, and that lintian finds no error (tests/test_deb_install.py installs
the real one)."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEB_DIR = ROOT / "packaging" / "deb"
COMMANDS = ("branch-hub", "branch-provision", "branch-sync", "branch-kiosk", "branch-display")
# What the hub and the kiosk need at run time, from the `run` script's APT list.
RUNTIME = (
    "pcscd",
    "espeak-ng",
    "sox",
    "libnss3-tools",
    "libmtdev1",
    "zbar-tools",
    "fonts-wqy-microhei",
)

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="no dpkg-deb")


def _wheel(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / name, "w") as wheel:
        wheel.writestr("stand_in/__init__.py", "")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The package of version 0.1.0-7 and its unpacked tree (DEBIAN/ included)."""
    tmp = tmp_path_factory.mktemp("deb")
    _wheel(tmp / "wheels/deps", "stand_in-1.0-py3-none-any.whl")
    _wheel(tmp / "wheels/project", "branch_edge-0.1.0-py3-none-any.whl")
    done = subprocess.run(
        ["bash", str(DEB_DIR / "build-deb.sh"), "--version", "0.1.0-7", str(tmp / "wheels"),
         str(tmp / "dist")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    deb = Path(done.stdout.strip())
    tree = tmp / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True, timeout=60)
    return deb, tree


def control(tree: Path) -> dict[str, str]:
    text = (tree / "DEBIAN/control").read_text(encoding="utf-8")
    return dict(re.findall(r"(?m)^([A-Za-z-]+): (.*)$", text))


def test_the_name_version_and_dependencies(built: tuple[Path, Path]) -> None:
    deb, tree = built
    fields = control(tree)
    assert deb.name == f"branch-edge_0.1.0-7_{fields['Architecture']}.deb"
    assert fields["Version"] == "0.1.0-7"
    depends = [d.strip() for d in fields["Depends"].split(",")]
    assert "python3 (>= 3.11)" in depends
    assert "python3-venv" in depends
    apt_list = re.search(r"APT_PACKAGES=\((.*?)\)", (ROOT / "run").read_text(), re.S)
    assert apt_list
    for package in RUNTIME:
        assert package in apt_list.group(1).split(), package
        assert package in depends, package
    assert int(fields["Installed-Size"]) > 0


def test_the_files_it_installs(built: tuple[Path, Path]) -> None:
    deb, tree = built
    units = {p.name for p in (ROOT / "packaging/systemd").iterdir()}
    assert {p.name for p in (tree / "usr/lib/systemd/system").iterdir()} == units
    for path in ("usr/lib/sysusers.d/branch-edge.conf", "usr/lib/tmpfiles.d/branch-edge.conf",
                 "etc/logrotate.d/branch-edge", "usr/share/doc/branch-edge/copyright",
                 "usr/share/doc/branch-edge/operations.md.gz",
                 "usr/lib/branch-edge/wheels/SHA256SUMS"):  # fmt: skip
        assert (tree / path).is_file(), path
    for command in COMMANDS:
        link = tree / "usr/bin" / command
        assert link.is_symlink()
        assert str(link.readlink()) == f"/opt/branch-edge/venv/bin/{command}"
    # /etc/branch-edge is branch IT's, and the venv is made by postinst.
    assert not (tree / "etc/branch-edge").exists()
    assert not (tree / "opt").exists()
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert all(line.split()[1] == "root/root" for line in listing)


def test_the_service_accounts_and_folders(built: tuple[Path, Path]) -> None:
    _, tree = built
    users = (tree / "usr/lib/sysusers.d/branch-edge.conf").read_text()
    for user in ("branch-hub", "branch-kiosk", "branch-display"):
        assert re.search(rf"(?m)^u {user} ", users), user
    folders = (tree / "usr/lib/tmpfiles.d/branch-edge.conf").read_text()
    assert re.search(r"(?m)^d /var/lib/branch-edge +0700 branch-hub +branch-hub ", folders)
    assert re.search(r"(?m)^d /var/lib/branch-kiosk +0700 branch-kiosk ", folders)
    assert re.search(r"(?m)^d /var/log/branch-edge ", folders)


def test_conffiles_md5sums_and_changelog(built: tuple[Path, Path]) -> None:
    _, tree = built
    assert (tree / "DEBIAN/conffiles").read_text().split() == ["/etc/logrotate.d/branch-edge"]
    sums: dict[str, str] = {}
    for line in (tree / "DEBIAN/md5sums").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name] = digest
    files = {str(p.relative_to(tree)) for p in tree.rglob("*")
             if p.is_file() and not p.is_symlink() and p.parts[len(tree.parts)] != "DEBIAN"}  # fmt: skip
    assert set(sums) == files
    for name, digest in sums.items():
        assert (
            hashlib.md5((tree / name).read_bytes(), usedforsecurity=False).hexdigest() == digest
        ), name
    changelog = (tree / "usr/share/doc/branch-edge/changelog.Debian.gz").read_bytes()
    assert changelog[3] & 0x08 == 0, "gzip -n: no file name"
    assert changelog[4:8] == b"\0\0\0\0", "gzip -n: no date"
    assert gzip.decompress(changelog).decode().startswith("branch-edge (0.1.0-7) ")


def test_maintainer_scripts_start_nothing_and_add_no_user(built: tuple[Path, Path]) -> None:
    _, tree = built
    for script in ("postinst", "prerm", "postrm"):
        path = tree / "DEBIAN" / script
        assert path.stat().st_mode & 0o111, script
        assert subprocess.run(["sh", "-n", str(path)], check=False, timeout=30).returncode == 0
        text = path.read_text()
        assert not re.search(
            r"useradd|adduser|systemctl (enable|start)|invoke (start|restart)\b", text
        )
    postinst = (tree / "DEBIAN/postinst").read_text()
    assert "--no-index" in postinst
    assert "/usr/bin/python3 -m venv" in postinst


@pytest.mark.skipif(shutil.which("lintian") is None, reason="no lintian (./run installs it)")
def test_lintian_finds_no_error(built: tuple[Path, Path]) -> None:
    deb, _ = built
    done = subprocess.run(
        ["lintian", "--fail-on", "error", str(deb)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [line for line in done.stdout.splitlines() if line.startswith("E:")]
