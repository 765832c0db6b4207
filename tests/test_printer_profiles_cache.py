"""escpos's parsed printer profiles are kept in the service's cache folder, not a new temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from drivers.printer.profiles_cache import profiles_folder

ROOT = Path(__file__).resolve().parent.parent
SHOW = "import os, drivers.printer.ticket; print(os.environ.get('ESCPOS_CAPABILITIES_PICKLE_DIR', '-'))"


def _import_in(env: dict[str, str]) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ESCPOS_", "XDG_", "CACHE_"))}
    done = subprocess.run(
        [sys.executable, "-c", SHOW],
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_a_service_keeps_the_profiles_in_its_cache_directory(tmp_path: Path) -> None:
    cache = tmp_path / "var-cache-branch-edge"
    cache.mkdir()
    folder = _import_in({"CACHE_DIRECTORY": str(cache)})
    assert folder == str(cache / "escpos")
    assert [p.name for p in (cache / "escpos").iterdir()] == [
        f"{sys.version.split()[0]}.capabilities.pickle"
    ]
    assert (cache / "escpos").stat().st_mode & 0o777 == 0o700
    before = (cache / "escpos").iterdir().__next__().stat().st_mtime_ns
    assert _import_in({"CACHE_DIRECTORY": str(cache)}) == folder  # the second start reads it
    assert next((cache / "escpos").iterdir()).stat().st_mtime_ns == before


def test_a_person_keeps_them_under_the_xdg_cache(tmp_path: Path) -> None:
    assert _import_in({"XDG_CACHE_HOME": str(tmp_path)}) == str(tmp_path / "branch-edge" / "escpos")
    assert profiles_folder({"HOME": "/h", "XDG_CACHE_HOME": "/x"}) == Path("/x/branch-edge/escpos")
    assert profiles_folder({"CACHE_DIRECTORY": "/a:/b"}) == Path("/a/escpos")


def test_a_folder_of_another_user_is_not_used(tmp_path: Path) -> None:
    if os.getuid() != 0:
        return  # only root can give the folder away here
    theirs = tmp_path / "branch-edge" / "escpos"
    theirs.mkdir(parents=True)
    os.chown(theirs, 65534, 65534)
    assert _import_in({"XDG_CACHE_HOME": str(tmp_path)}) != str(theirs)
