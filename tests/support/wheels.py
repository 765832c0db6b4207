"""A minimal, valid wheel of a tiny app for app-store tests."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

__all__ = ["make_wheel"]


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
