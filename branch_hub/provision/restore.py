"""`branch-provision restore`: a backup onto fresh folders, checked before it is trusted."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sqlite3
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from tqdm import tqdm

from branch_hub.provision.backup import MANIFEST, clear_folder, read_passphrase
from branch_hub.provision.common import Branch, ProvisionError
from branch_hub.provision.sealed import CHUNK, BackupHeader, SealedReader, UnsealError, read_header
from branch_hub.provision.snapshot import BRANCH_PREFIX, DATA_PREFIX
from branch_hub.security.errors import AuditError

__all__ = ["register"]

Visit = Callable[[tarfile.TarInfo, IO[bytes] | None], None]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `restore`."""
    p = sub.add_parser(
        "restore",
        help="bring a branch back from a backup onto new (empty) folders",
        description="Check the whole backup (passphrase, every byte), then write the branch "
        "folder and the hub's data folder (files 0600, folders 0700) and check every database "
        "(integrity_check) and the audit log. Refuses non-empty folders unless --force. Run it "
        "with the hub stopped; the restored hub is an older copy (docs/operations.md).",
    )
    p.add_argument("--in", dest="source", type=Path, required=True, help="the backup file")
    p.add_argument("--dir", type=Path, required=True, help="the branch folder to restore into")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the hub's data goes (default: as hub.toml says, relative to --dir); "
        "hub.toml's data_dir is set to it",
    )
    p.add_argument(
        "--passphrase-file",
        type=Path,
        default=None,
        help="read the passphrase from this file's first line (default: ask)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="empty non-empty target folders first (only after the whole backup checked out)",
    )
    p.set_defaults(func=run_restore)


class _Counted:
    """A file read through a progress bar."""

    def __init__(self, fh: IO[bytes], bar: tqdm[Any]) -> None:
        self._fh, self._bar = fh, bar

    def read(self, size: int = -1, /) -> bytes:
        """Read and count."""
        data = self._fh.read(size)
        self._bar.update(len(data))
        return data


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and (name == MANIFEST or name.startswith((BRANCH_PREFIX, DATA_PREFIX)))
        and len(path.parts) >= (1 if name == MANIFEST else 2)
    )


def _walk(source: Path, key: bytes, header_raw: bytes, desc: str, visit: Visit) -> None:
    """Decrypt and read the whole archive once, handing each member to `visit`."""
    with (
        source.open("rb") as raw,
        tqdm(
            total=source.stat().st_size, unit="B", unit_scale=True, desc=desc, disable=None
        ) as bar,
    ):
        fh = _Counted(raw, bar)
        header, again = read_header(fh)
        if again != header_raw:
            raise UnsealError("the backup file changed while it was being restored")
        reader = SealedReader(fh, header, again, key)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    if not member.isfile() or not _safe_name(member.name):
                        raise ProvisionError(
                            f"the backup holds an unexpected entry {member.name!r}"
                        )
                    visit(member, tar.extractfile(member))
        except tarfile.TarError:
            raise ProvisionError("the backup's contents are damaged") from None
        reader.drain()


def _check_pass(source: Path, key: bytes, header_raw: bytes) -> dict[str, Any]:
    """Read every byte once, writing nothing: the manifest, if the whole file authenticates."""
    found: dict[str, Any] = {}
    names: list[str] = []

    def visit(member: tarfile.TarInfo, fh: IO[bytes] | None) -> None:
        if member.name == MANIFEST:
            if names or fh is None:
                raise ProvisionError("the backup's manifest is not where it belongs")
            try:
                found.update(json.loads(fh.read()))
            except ValueError:
                raise ProvisionError("the backup's manifest is unreadable") from None
        names.append(member.name)

    _walk(source, key, header_raw, "check", visit)
    if not found or not set(names[1:]) <= set(found.get("files", [])):
        raise ProvisionError("the backup's contents do not match its manifest")
    found["restored"] = names[1:]
    return found


def _targets(args: argparse.Namespace, manifest: dict[str, Any]) -> tuple[Path, Path]:
    folder = Path(os.path.abspath(args.dir))
    if args.data_dir is not None:
        return folder, Path(os.path.abspath(args.data_dir))
    setting = Path(str(manifest["data_dir"]))
    return folder, Path(os.path.abspath(setting if setting.is_absolute() else folder / setting))


def _make_room(folders: list[Path], force: bool) -> None:
    for folder in folders:
        if not folder.exists() or not any(folder.iterdir()):
            continue
        if not force:
            raise ProvisionError(
                f"{folder} is not empty; restore onto a new folder (or pass --force to empty it)"
            )
        if folder.resolve() == Path("/") or folder.resolve() == Path.home().resolve():
            raise ProvisionError(f"refusing to empty {folder}")
        clear_folder(folder)


def _private_dirs(path: Path, top: Path) -> None:
    """Make `path` and the folders up to `top` (0700)."""
    if path == top or top in path.parents:
        for folder in [*reversed(path.relative_to(top).parents), path.relative_to(top)]:
            (top / folder).mkdir(mode=0o700, exist_ok=True)
            (top / folder).chmod(0o700)


def _write_pass(
    source: Path, key: bytes, header_raw: bytes, targets: tuple[Path, Path], db_names: set[str]
) -> list[Path]:
    """Write every file; return the databases written."""
    folder, data = targets
    databases: list[Path] = []

    def visit(member: tarfile.TarInfo, fh: IO[bytes] | None) -> None:
        if member.name == MANIFEST or fh is None:
            return
        top = data if member.name.startswith(DATA_PREFIX) else folder
        rel = member.name.split("/", 1)[1]
        target = top / rel
        _private_dirs(target.parent, top)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(out, "wb") as dest:
            shutil.copyfileobj(fh, dest, CHUNK)
            dest.flush()
            os.fsync(dest.fileno())
        if member.name in db_names:
            databases.append(target)

    for top in (folder, data):
        top.mkdir(mode=0o700, parents=True, exist_ok=True)
        top.chmod(0o700)
    _walk(source, key, header_raw, "restore", visit)
    return databases


def _point_config_at(folder: Path, data: Path) -> bool:
    """Set hub.toml's data_dir to `data` unless it already resolves there; True if changed."""
    branch = Branch.load(folder)
    if branch.data_dir.resolve() == data.resolve():
        return False
    toml = folder / "hub.toml"
    text = toml.read_text(encoding="utf-8")
    inside = data.resolve().is_relative_to(folder.resolve())
    setting = data.resolve().relative_to(folder.resolve()).as_posix() if inside else str(data)
    line = f"data_dir = {json.dumps(setting)}"
    new, n = re.subn(r"(?m)^data_dir\s*=.*$", line, text, count=1)
    if n == 0:
        new = re.sub(r"(?m)^\[hub\]\s*$", "[hub]\n" + line, text, count=1)
    toml.write_text(new, encoding="utf-8")
    return True


def _check_databases(databases: list[Path]) -> None:
    for path in databases:
        try:
            with contextlib.closing(sqlite3.connect(path)) as db:
                result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        except sqlite3.Error as exc:
            raise ProvisionError(f"restored database {path} cannot be read: {exc}") from None
        if result != ["ok"]:
            raise ProvisionError(f"restored database {path} is damaged: {'; '.join(result[:3])}")


def _check_audit(branch: Branch) -> tuple[int, int | None]:
    """Verify the audit log (chain, signed head, the local anchor); (entries, HQ-held seq)."""
    security = branch.security()
    try:
        count = security.audit.verify()
        anchored = security.audit.last_anchored()
    except AuditError as exc:
        raise ProvisionError(
            f"the restored audit log does not verify ({exc.reason}): {exc} / {exc.message_zh}"
        ) from None
    finally:
        security.close()
    return count, anchored.seq if anchored is not None else None


def _outbox_due_now(branch: Branch) -> int:
    """Make what waits for HQ due at once (the old machine's retry times); return how many."""
    from branch_hub.atrest import AtRestCipher
    from branch_hub.outbox import Outbox

    db, key = branch.data_dir / "hub.db", branch.data_dir / "atrest.key"
    if not db.exists():
        return 0
    try:
        cipher = AtRestCipher(key.read_bytes())
    except (OSError, ValueError):
        raise ProvisionError(f"{key} is missing or not 32 bytes: hub.db cannot be read") from None
    outbox = Outbox(db, cipher, timezone=branch.config.branch.timezone)
    try:
        return outbox.due_now()
    finally:
        outbox.close()


@contextlib.contextmanager
def _undo_on_failure(folders: list[Path]) -> Iterator[None]:
    """If writing stops half-way, leave the target folders empty again."""
    try:
        yield
    except (UnsealError, ProvisionError, OSError):
        for folder in folders:
            if folder.exists():
                clear_folder(folder)
        raise


def run_restore(args: argparse.Namespace) -> int:
    """Check, write, verify."""
    source: Path = args.source
    if not args.force:  # before the slow check: the folders named on the command line
        _make_room([Path(p) for p in (args.dir, args.data_dir) if p is not None], force=False)
    passphrase = read_passphrase(args.passphrase_file, twice=False)
    try:
        with source.open("rb") as fh:
            header, raw = read_header(fh)
        key = header.key(passphrase)
        manifest = _check_pass(source, key, raw)
        folder, data = _targets(args, manifest)
        _make_room([folder, data], args.force)
        with _undo_on_failure([folder, data]):
            db_names = set(manifest.get("databases", []))
            databases = _write_pass(source, key, raw, (folder, data), db_names)
    except UnsealError as exc:
        raise ProvisionError(str(exc)) from None
    moved = _point_config_at(folder, data)
    _check_databases(databases)
    branch = Branch.load(folder)
    count, anchored = _check_audit(branch)
    waiting = _outbox_due_now(branch)
    _report(header, manifest, branch, (len(databases), count, waiting), anchored, moved)
    return 0


def _report(
    header: BackupHeader,
    manifest: dict[str, Any],
    branch: Branch,
    counts: tuple[int, int, int],
    anchored: int | None,
    moved: bool,
) -> None:
    databases, entries, waiting = counts
    print(f"restored branch {header.branch_id} from the backup of {header.created}")
    print(f"  branch folder: {branch.folder}")
    print(
        f"  data folder:   {branch.data_dir}"
        + ("  (hub.toml's data_dir set to it)" if moved else "")
    )
    print(f"  {len(manifest['restored'])} files; {databases} databases pass integrity_check")
    held = f"; HQ had acknowledged up to entry {anchored}" if anchored is not None else ""
    print(f"  audit log OK: {entries} entries, chain and signed head intact{held}")
    print(f"  {waiting} events wait for HQ; the hub sends them as soon as it starts")
    print("  this is an older copy: HQ will report the audit log as rolled back if it holds a")
    print("  later head; follow docs/operations.md 'Backup and restore' before starting the hub")
