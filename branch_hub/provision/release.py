"""`branch-provision release` and `release-key`: build signed release bundles of the apps."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from branch_hub import __version__
from branch_hub.appstore.bundle import APPS, Refused, write_manifest
from sync.errors import KeyFileError
from sync.keys import load_signing_private, write_key_pair

__all__ = ["ReleaseError", "build_release", "register"]


class ReleaseError(Exception):
    """A release bundle cannot be built."""


def _wheels_from_source(source: Path, into: Path) -> None:
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise ReleaseError(f"{source} is not a Python project (no pyproject.toml)")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--wheel-dir", str(into), str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ReleaseError(f"pip wheel failed: {proc.stderr.strip()[-500:]}")


def build_release(
    app: str,
    version: str,
    signing_key: Path,
    out: Path,
    *,
    source: Path | None = None,
    wheels: Path | None = None,
    min_hub_version: str = __version__,
) -> Path:
    """Build `<out>/<app>-<version>/`: the app's wheels, manifest.json and manifest.sig."""
    key = load_signing_private(signing_key)
    bundle = out / f"{app}-{version}"
    if bundle.exists():
        raise ReleaseError(f"{bundle} already exists; a release is never rebuilt in place")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".release-") as tmp:
        staging = Path(tmp) / "bundle"
        staging.mkdir()
        if wheels is not None:
            found = sorted(wheels.glob("*.whl"))
            if not found:
                raise ReleaseError(f"no .whl files in {wheels}")
            for whl in found:
                shutil.copy2(whl, staging / whl.name)
        else:
            _wheels_from_source(source or Path.cwd(), staging)
        write_manifest(staging, app, version, min_hub_version, key)
        staging.rename(bundle)
    return bundle


def _cmd_release(args: argparse.Namespace) -> int:
    try:
        bundle = build_release(
            args.app,
            args.version,
            args.signing_key,
            args.out,
            source=args.source,
            wheels=args.wheels,
            min_hub_version=args.min_hub_version,
        )
    except (ReleaseError, Refused, KeyFileError) as exc:
        print(f"branch-provision release: error: {exc}", file=sys.stderr)
        return 1
    print(f"release bundle: {bundle}")
    return 0


def _cmd_release_key(args: argparse.Namespace) -> int:
    try:
        fp = write_key_pair(
            "hq", args.out / "release_signing.key", args.out / "release_signing.pub"
        )
    except KeyFileError as exc:
        print(f"branch-provision release-key: error: {exc}", file=sys.stderr)
        return 1
    print(f"release key written to {args.out}; fingerprint {fp}")
    return 0


def register(sub: Any) -> None:
    """Add `release` and `release-key` to branch-provision."""
    rel = sub.add_parser(
        "release",
        help="build a signed release bundle of the kiosk or tablet app",
        description="Put the app's wheels (built with 'pip wheel --no-deps' from --source, or "
        "taken from --wheels) and a manifest with the SHA-256 of every file, signed with "
        "the Ed25519 release key, into OUT/APP-VERSION/.",
    )
    rel.add_argument("--app", choices=APPS, required=True)
    rel.add_argument("--version", required=True, help="release version, dotted numbers")
    rel.add_argument("--signing-key", type=Path, required=True, help="Ed25519 release key (PEM)")
    rel.add_argument("--out", type=Path, required=True, help="folder for the bundle")
    src = rel.add_mutually_exclusive_group()
    src.add_argument("--source", type=Path, help="project to build wheels from (default: .)")
    src.add_argument("--wheels", type=Path, help="folder of ready wheels to bundle")
    rel.add_argument(
        "--min-hub-version",
        default=__version__,
        help=f"oldest hub this release works with (default {__version__})",
    )
    rel.set_defaults(func=_cmd_release)
    key = sub.add_parser(
        "release-key",
        help="make the Ed25519 release signing key pair",
        description="Write release_signing.key (0600, never overwritten) and release_signing.pub.",
    )
    key.add_argument("--out", type=Path, required=True)
    key.set_defaults(func=_cmd_release_key)
