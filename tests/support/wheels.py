"""A minimal, valid wheel of a tiny app for app-store tests."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

__all__ = ["make_wheel", "project_wheel"]


def _write(path: Path, dist: str, files: dict[str, bytes]) -> Path:
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def project_wheel(
    folder: Path,
    version: str,
    packages: tuple[str, ...],
    *,
    append: dict[str, str] | None = None,
) -> Path:
    """A wheel of this checkout's `packages` as version `version` (`append`: text added to
    the end of some of its files, e.g. a start that crashes)."""
    repo = Path(__file__).resolve().parents[2]
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"branch_edge-{version}.dist-info"
    files: dict[str, bytes] = {}
    for package in packages:
        for path in sorted((repo / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(repo).as_posix()] = path.read_bytes()
    for name, text in (append or {}).items():
        files[name] += text.encode()
    files[f"{dist}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: branch-edge\nVersion: {version}\n"
    ).encode()
    files[f"{dist}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    return _write(folder / f"branch_edge-{version}-py3-none-any.whl", dist, files)


def make_wheel(folder: Path, version: str, healthy: bool = True) -> Path:
    """Write a minimal, valid wheel of a tiny app `demoapp` (PEP 427 layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"demoapp-{version}.dist-info"
    files = {
        "demoapp/__init__.py": f"VERSION = {version!r}\n\ndef health():\n"
        f"    return {0 if healthy else 1}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: demoapp\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    path = folder / f"demoapp-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path
