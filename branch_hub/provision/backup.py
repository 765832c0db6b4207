"""`branch-provision backup` and `restore`: the whole branch in one encrypted file."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import io
import json
import os
import shutil
import sqlite3
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from branch_hub.provision.common import Branch, ProvisionError, add_dir_argument
from branch_hub.provision.sealed import MAGIC, BackupHeader, SealedWriter
from branch_hub.provision.snapshot import Item, plan, snapshot_database

__all__ = ["MANIFEST", "read_passphrase", "register"]

MANIFEST = "manifest.json"
MIN_PASSPHRASE = 12


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `backup`."""
    p = sub.add_parser(
        "backup",
        help="write the whole branch (keys, databases, config) to one encrypted file",
        description="Take a consistent copy of the branch folder and the hub's data folder while "
        "the hub runs (databases through SQLite's online backup), packed and encrypted with a "
        "key from a passphrase (scrypt, AES-256-GCM). The file holds the branch CA key and the "
        "at-rest key: keep it offline, apart from its passphrase.",
    )
    add_dir_argument(p)
    p.add_argument("--out", type=Path, required=True, help="the backup file to write (new)")
    p.add_argument(
        "--passphrase-file",
        type=Path,
        default=None,
        help="read the passphrase from this file's first line (default: ask twice)",
    )
    p.set_defaults(func=run_backup)


def read_passphrase(path: Path | None, *, twice: bool) -> str:
    """The passphrase from a file's first line, or typed on the terminal (twice for a backup)."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProvisionError(f"cannot read {path}: {exc.strerror}") from None
        passphrase = text.splitlines()[0] if text else ""
    else:
        if not sys.stdin.isatty():
            raise ProvisionError("no terminal to ask for the passphrase; pass --passphrase-file")
        passphrase = getpass.getpass("Backup passphrase: ")
        if twice and getpass.getpass("Backup passphrase again: ") != passphrase:
            raise ProvisionError("the two entries differ")
    if not passphrase:
        raise ProvisionError("the passphrase is empty")
    return passphrase


def _manifest(branch: Branch, items: list[Item], created: str) -> bytes:
    hub_id = ""
    with contextlib.suppress(ProvisionError):
        hub_id = str(branch.hub_info().get("hub_id", ""))
    body: dict[str, Any] = {
        "format": 1,
        "branch_id": branch.config.branch.id,
        "hub_id": hub_id,
        "created": created,
        "data_dir": branch.config.hub.data_dir,
        "from": {"dir": str(branch.folder.resolve()), "data_dir": str(branch.data_dir)},
        "files": [item.name for item in items],
        "databases": [item.name for item in items if item.database],
    }
    return json.dumps(body, indent=2, ensure_ascii=False).encode()


def _member(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(mtime)
    return info


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> int:
    """Add a file as it is now; its size is taken from the open file."""
    with path.open("rb") as fh:
        st = os.fstat(fh.fileno())
        tar.addfile(_member(name, st.st_size, st.st_mtime), fh)
        return st.st_size


@contextlib.contextmanager
def _new_file(out: Path) -> Iterator[IO[bytes]]:
    """Write `out` (0600) through a temporary name; only a complete file gets the name."""
    if out.exists():
        raise ProvisionError(f"{out} already exists; choose another name")
    part = out.with_name(out.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _expected_size(items: list[Item]) -> int:
    total = 0
    for item in items:
        for suffix in ("", "-wal") if item.database else ("",):
            with contextlib.suppress(OSError):
                total += item.path.with_name(item.path.name + suffix).stat().st_size
    return total


def _pack(tar: tarfile.TarFile, items: list[Item], scratch: Path, bar: tqdm[Any]) -> int:
    """Add every item; a file gone since the plan (a cache switch) is left out. Return count."""
    written = 0
    for number, item in enumerate(items):
        try:
            if item.database:
                copy = scratch / f"{number}.db"  # never a name an earlier copy's side files hold
                snapshot_database(item.path, copy)
                size = _add_file(tar, item.name, copy)
                copy.unlink()
            else:
                size = _add_file(tar, item.name, item.path)
        except FileNotFoundError:
            print(f"note: {item.path} went away during the backup", file=sys.stderr)
            continue
        except sqlite3.Error as exc:
            raise ProvisionError(f"cannot copy the database {item.path}: {exc}") from None
        written += 1
        bar.update(size)
    return written


def run_backup(args: argparse.Namespace) -> int:
    """Write the encrypted backup."""
    branch = Branch.load(args.dir)
    out: Path = args.out.absolute()
    passphrase = read_passphrase(args.passphrase_file, twice=True)
    if len(passphrase) < MIN_PASSPHRASE:
        raise ProvisionError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    skip = {out, out.with_name(out.name + ".part")}
    items = plan(branch.folder, branch.data_dir, skip, MAGIC)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    header = BackupHeader.new(branch.config.branch.id, created)
    key = header.key(passphrase)
    manifest = _manifest(branch, items, created)
    with (
        _new_file(out) as fh,
        tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as scratch,
        tqdm(
            total=_expected_size(items), unit="B", unit_scale=True, desc="backup", disable=None
        ) as bar,
    ):
        sealed = SealedWriter(fh, header, key)
        with tarfile.open(fileobj=sealed, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            tar.addfile(_member(MANIFEST, len(manifest), datetime.now().timestamp()),
                        io.BytesIO(manifest))  # fmt: skip
            count = _pack(tar, items, Path(scratch), bar)
        sealed.close()
    size = out.stat().st_size
    print(f"backup of branch {branch.config.branch.id} written to {out}")
    print(f"  {count} files ({sum(i.database for i in items)} databases), {size} bytes, {created}")
    print("  it holds the branch CA key and the at-rest key: store it offline, 0600,")
    print("  and its passphrase apart from it (docs/security.md, 'Backups')")
    return 0


def clear_folder(folder: Path) -> None:
    """Remove everything inside a folder (not the folder itself)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
