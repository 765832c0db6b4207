"""What a backup holds and how it is read from a running hub: files as they are, databases
through SQLite's online backup (their WAL included, never a half-written page)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BRANCH_PREFIX", "DATA_PREFIX", "Item", "is_database", "plan", "snapshot_database"]

BRANCH_PREFIX, DATA_PREFIX = "branch/", "data/"
SQLITE_MAGIC = b"SQLite format 3\0"
# SQLite's side files and the temporary files of atomic writes: never part of a backup.
_TRANSIENT_SUFFIXES = ("-wal", "-shm", "-journal", ".tmp", ".part", ".partial")
# Written last: the audit log after hub.db, so an audit entry kept in hub.db and chained in
# between is in both copies (the relay skips an entry the log has) rather than in neither;
# after audit.head and audit.anchored (plain files), so the head never names entries the
# copied log lacks.
_LAST = ("security/audit.db",)


@dataclass(frozen=True)
class Item:
    """One file to back up: its name in the archive and where it is read from."""

    name: str
    path: Path
    database: bool


def is_database(path: Path) -> bool:
    """True for an SQLite database file (by its header, whatever its name)."""
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _transient(name: str) -> bool:
    return name.endswith(_TRANSIENT_SUFFIXES) or name.startswith((".tmp-", ".current.tmp"))


def _files(root: Path, skip: set[Path]) -> Iterator[Path]:
    """Regular files under root, sorted, leaving out `skip` trees and transient files."""
    for current, dirs, names in os.walk(root):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if here / d not in skip and not _transient(d))
        for name in sorted(names):
            path = here / name
            if path in skip or _transient(name):
                continue
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISREG(path.lstat().st_mode):
                    yield path


def _is_backup(path: Path, magic: bytes) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(magic)) == magic
    except OSError:
        return False


def plan(folder: Path, data_dir: Path, skip: set[Path], magic: bytes) -> list[Item]:
    """Every file of the branch folder and the data folder, plain files before databases."""
    folder, data_dir = folder.resolve(), data_dir.resolve()
    skip = {p.resolve() for p in skip}
    items: list[Item] = []
    for prefix, root, also in (
        (BRANCH_PREFIX, folder, {data_dir}),
        (DATA_PREFIX, data_dir, set()),
    ):
        if prefix == BRANCH_PREFIX and folder == data_dir:
            continue  # the branch folder is the data folder: its files go under data/
        for path in _files(root, skip | also):
            if prefix == BRANCH_PREFIX and _is_backup(path, magic):
                continue  # an earlier backup kept next to hub.toml
            name = prefix + path.relative_to(root).as_posix()
            items.append(Item(name, path, is_database(path)))

    def order(item: Item) -> tuple[int, int]:
        last = item.name.removeprefix(DATA_PREFIX) in _LAST
        return (1 if item.database else 0, 1 if last else 0)

    return sorted(items, key=order)  # stable: sorted paths within each group


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def snapshot_database(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's online backup: one consistent read, WAL included."""
    existed = {p for p in _sidecars(source) if p.exists()}
    src = sqlite3.connect(source, timeout=30.0)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: no restart while the hub writes on
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    _keep_owner(source, existed)


def _keep_owner(source: Path, existed: set[Path]) -> None:
    """Side files this process made (as root) go to the database's owner, as the hub needs."""
    if os.geteuid() != 0:
        return
    owner = source.stat()
    for path in _sidecars(source):
        if path not in existed:
            with contextlib.suppress(FileNotFoundError):
                os.chown(path, owner.st_uid, owner.st_gid)
