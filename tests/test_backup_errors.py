"""Backup files that must not restore: a wrong passphrase, any changed, missing or added byte,
a non-empty target; and the command lines that are wrong. Each is one clear line, no traceback."""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from branch_hub.provision.cli import main as provision
from branch_hub.provision.common import Branch
from branch_hub.provision.sealed import (
    ALTERED,
    BackupHeader,
    SealedReader,
    SealedWriter,
    UnsealError,
    read_header,
)

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "lobby tea kettle 1987 orchid"  # noqa: S105 (a test passphrase)


def _cli(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "branch_hub.provision.cli", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A provisioned branch folder, its backup and the passphrase file."""
    root = tmp_path_factory.mktemp("backup-errors")
    folder, out, passphrase = root / "branch", root / "B001.backup", root / "passphrase"
    init = ["init", "--dir", str(folder), "--branch-id", "B001", "--name", "示例"]
    done = _cli(*init, "--region-code", "110105", "--pin-stdin", stdin="864213\n")
    assert done.returncode == 0, done.stderr
    passphrase.write_text(PASSPHRASE + "\n")
    done = _cli(
        "backup", "--dir", str(folder), "--out", str(out), "--passphrase-file", str(passphrase)
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    return folder, out, passphrase


def _restore(
    capsys: pytest.CaptureFixture[str], source: Path, target: Path, passphrase: Path, *extra: str
) -> tuple[int, str]:
    argv = ["restore", "--in", str(source), "--dir", str(target)]
    code = provision([*argv, "--passphrase-file", str(passphrase), *extra])
    shown = capsys.readouterr()
    assert "Traceback" not in shown.err
    return code, shown.err if code else shown.out


def test_a_wrong_passphrase_is_one_clear_line_and_writes_nothing(
    made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, backup, _ = made
    wrong = tmp_path / "wrong"
    wrong.write_text("lobby tea kettle 1987 orchiD\n")
    code, err = _restore(capsys, backup, tmp_path / "new", wrong)
    assert code == 1
    assert err.strip() == f"branch-provision: error: {ALTERED}"
    assert "wrong passphrase or the backup was altered" in err
    assert "口令错误" in err
    assert not (tmp_path / "new").exists()


def _changed(data: bytes, how: str) -> bytes:
    header_end = data.index(b"}") + 1
    if how == "header":  # a salt digit: another key
        at = data.index(b'"salt": "') + 12
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    if how == "middle":
        at = header_end + (len(data) - header_end) // 2
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    if how == "last":
        return data[:-1] + bytes([data[-1] ^ 0x80])
    if how == "cut":
        return data[:-100]
    return data + b"\0" * 64  # appended


@pytest.mark.parametrize("how", ["header", "middle", "last", "cut", "appended"])
def test_any_changed_byte_is_caught_before_anything_is_written(
    made: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    _, backup, passphrase = made
    bad = tmp_path / "bad.backup"
    bad.write_bytes(_changed(backup.read_bytes(), how))
    code, err = _restore(capsys, bad, tmp_path / "new", passphrase)
    assert code == 1
    assert "wrong passphrase or the backup was altered" in err
    assert not (tmp_path / "new").exists()


def test_a_non_empty_folder_is_refused_and_force_replaces_it(
    made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, backup, passphrase = made
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("IT's notes")
    code, err = _restore(capsys, backup, target, passphrase)
    assert code == 1
    assert "is not empty" in err
    assert (target / "keep.txt").read_text() == "IT's notes"
    code, err = _restore(capsys, backup, target, passphrase, "--force")
    assert code == 0, err
    assert not (target / "keep.txt").exists()
    assert Branch.load(target).config.branch.id == "B001"


def test_a_data_folder_elsewhere_is_written_into_hub_toml(
    made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, backup, passphrase = made
    data = tmp_path / "lib" / "branch-edge"
    code, err = _restore(capsys, backup, tmp_path / "etc", passphrase, "--data-dir", str(data))
    assert code == 0, err
    branch = Branch.load(tmp_path / "etc")
    assert branch.data_dir == data
    assert (data / "pki" / "ca.key").exists()
    assert not (tmp_path / "etc" / "var").exists()
    modes = {stat.S_IMODE(p.stat().st_mode) for p in data.rglob("*")}
    assert modes <= {0o600, 0o700}
    assert "audit log OK" in err  # what a successful restore shows
    assert "hub.toml's data_dir set to it" in err


def test_wrong_command_lines_exit_2_and_refusals_exit_1(
    made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, backup, passphrase = made
    with pytest.raises(SystemExit) as usage:
        provision(["restore", "--dir", str(tmp_path / "x")])  # no --in
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        provision(["backup", "--dir", str(folder), "--passphrase", PASSPHRASE])  # never argv
    assert usage.value.code == 2
    capsys.readouterr()
    short = tmp_path / "short"
    short.write_text("tea\n")
    out = ["backup", "--dir", str(folder), "--out"]
    assert provision([*out, str(tmp_path / "a"), "--passphrase-file", str(short)]) == 1
    assert "at least 12 characters" in capsys.readouterr().err
    assert provision([*out, str(backup), "--passphrase-file", str(passphrase)]) == 1
    assert "already exists" in capsys.readouterr().err
    sys_stdin = sys.stdin
    sys.stdin = io.StringIO("")  # not a terminal: never a silent default
    try:
        assert provision([*out, str(tmp_path / "b")]) == 1
    finally:
        sys.stdin = sys_stdin
    assert "--passphrase-file" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.part"))


def _sealed(plain: bytes, chunk: int = 1024) -> tuple[bytes, bytes]:
    key = os.urandom(32)
    header = BackupHeader.new("B001", "2026-12-02T00:00:00+00:00")
    header = dataclasses.replace(header, chunk=chunk)
    out = io.BytesIO()
    writer = SealedWriter(out, header, key)
    for at in range(0, len(plain), 700):  # writes that straddle chunk edges
        writer.write(plain[at : at + 700])
    writer.close()
    return out.getvalue(), key


def _unseal(data: bytes, key: bytes) -> bytes:
    stream = io.BytesIO(data)
    header, raw = read_header(stream)
    reader = SealedReader(stream, header, raw, key)
    got = reader.read(100) + reader.read()
    reader.drain()
    return got


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 5000])
def test_the_stream_round_trips_and_catches_a_dropped_or_swapped_chunk(size: int) -> None:
    plain = os.urandom(size)
    data, key = _sealed(plain)
    assert _unseal(data, key) == plain
    body = data.index(b"}") + 1
    sealed = 1024 + 16
    chunks = [data[i : i + sealed] for i in range(body, len(data), sealed)]
    if len(chunks) >= 2:
        dropped = data[:body] + b"".join(chunks[:-1])  # ends on a whole chunk, not the last
        swapped = data[:body] + b"".join([chunks[1], chunks[0], *chunks[2:]])
        for bad in (dropped, swapped):
            with pytest.raises(UnsealError):
                _unseal(bad, key)
