"""Where python-escpos keeps its parsed printer profiles: a folder that outlives the process.

escpos parses its printer profile database (a ~1 MB YAML/JSON file) at import and pickles the
result into ESCPOS_CAPABILITIES_PICKLE_DIR, by default a new temporary folder per process: every
hub start paid the parse (about half a second on a 2-core branch box) and left a folder in
/tmp. This points it at the service's cache folder (systemd's CacheDirectory=, else the user's
XDG cache), readable and writable by the service's own user only, before escpos is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["keep_escpos_profiles", "profiles_folder"]

_VARIABLE = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def profiles_folder(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """The folder for escpos's parsed profiles: systemd's cache folder, else the XDG cache."""
    systemd = environ.get("CACHE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd) / "escpos"
    xdg = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "branch-edge" / "escpos"


def keep_escpos_profiles() -> None:
    """Point escpos at the lasting folder (unless set already or the folder cannot be made)."""
    if _VARIABLE in os.environ:
        return
    folder = profiles_folder()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_uid != os.getuid():  # another user's pickle must never be loaded
            return
    except (OSError, RuntimeError):  # a read-only or missing home: escpos's own temp folder
        return
    os.environ[_VARIABLE] = str(folder)
