"""The pieces of a tablet's catalogue copy: its typed refusal, digests, and atomic small files."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CatalogueCopyError", "CopyResult", "digest_of", "read_json", "write_atomic"]

# reason code -> (English for logs and staff, Chinese for the tablet's screen)
_REASONS = {
    "catalogue_bad_key": (
        "The hub gave no usable catalogue key.",
        "网点服务器提供的产品目录密钥无效。",
    ),
    "catalogue_key_changed": (
        "The catalogue is signed by another key than the one this tablet trusts.",
        "产品目录的签名密钥与本机信任的密钥不一致，已拒绝更新。",
    ),
    "catalogue_bad_signature": (
        "The catalogue's signature does not verify with HQ's key.",
        "产品目录的总行签名校验失败，已拒绝更新。",
    ),
    "catalogue_bad_bundle": (
        "The catalogue's pointer or manifest is not in the expected form.",
        "产品目录的清单格式不正确，已拒绝更新。",
    ),
    "catalogue_rollback": (
        "The hub offers an older catalogue than this tablet holds.",
        "网点服务器提供的产品目录比本机的旧，已拒绝更新。",
    ),
    "catalogue_bad_chunk": (
        "A catalogue file does not match the hash HQ signed (tampered or truncated).",
        "产品目录文件与总行签名的校验值不符（可能被篡改或不完整），已拒绝更新。",
    ),
    "catalogue_bad_content": (
        "The catalogue's products or files cannot be read.",
        "产品目录内容无法读取，已拒绝更新。",
    ),
    "catalogue_file_missing": (
        "The hub does not hold a file of the catalogue.",
        "网点服务器缺少产品目录的文件，请稍后再试。",
    ),
    "catalogue_fetch_failed": (
        "The catalogue could not be fetched from the hub.",
        "无法从网点服务器获取产品目录，请稍后再试。",
    ),
    "catalogue_copy_tampered": (
        "The catalogue copy on this tablet was changed after it was checked.",
        "本机保存的产品目录已被改动，已停止使用，请重新同步。",
    ),
}


class CatalogueCopyError(Exception):
    """A refused refresh or a copy that no longer checks out; the previous copy stays in use."""

    def __init__(self, reason_code: str, detail: str = "") -> None:
        message, message_zh = _REASONS[reason_code]
        super().__init__(f"{message} ({detail})" if detail else message)
        self.reason_code = reason_code
        self.message = message
        self.message_zh = message_zh
        self.detail = detail


@dataclass(frozen=True)
class CopyResult:
    """What a refresh did: the sequence now held, whether it changed, and the chunks it moved."""

    sequence: int
    applied: bool
    fetched_chunks: int = 0
    reused_chunks: int = 0
    fetched_bytes: int = 0


def digest_of(path: Path) -> str:
    """A file's SHA-256 (hex), read in blocks."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def read_json(path: Path) -> Any:
    """A small JSON file, or None when it does not exist."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole (a reader sees the old file or the new one)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
