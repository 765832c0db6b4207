"""The audit log's signed head and HQ anchors: proof that no entry was cut off the end.

The head file holds the last chained entry's seq and MAC with an HMAC-SHA256 by a head key of
its own (`audit-head.key`, 0600), so it cannot be rewritten to match a cut-off log without the
key. It is written after each commit (atomically, fsynced): a crash between the two leaves a head
that names an earlier entry of the same chain, which is accepted and repaired on open. A head
beyond the log's end, or naming an entry the log holds with another MAC, is truncation.

An older copy of the database with its (validly signed) head cannot be told from the real thing
locally: the hub's outbox sends the head to HQ as an anchor, and `judge` compares the log with
the anchors it is given (the last one HQ acknowledged, kept in `audit.anchored`, and one exported
from HQ). Rules and messages: docs/security.md, "Audit log".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from branch_hub.security.errors import (
    AuditAnchorInvalid,
    AuditError,
    AuditHeadForged,
    AuditRolledBack,
    AuditTruncated,
    AuditUnprovable,
)

__all__ = ["GENESIS", "Head", "HeadKeeper", "judge"]

GENESIS = "0" * 64
_CONTEXT = b"branch-edge/v1 audit head\x00"

log = logging.getLogger("branch_hub.security.audit")

# The MAC of the entry at a seq (GENESIS for 0), or None if the log has no such entry.
MacAt = Callable[[int], str | None]


@dataclass(frozen=True)
class Head:
    """A signed head: the chain ends at `seq` with `chain_mac` (as of `at`)."""

    seq: int
    chain_mac: str
    at: str
    head_mac: str

    def body(self) -> bytes:
        """The bytes the head MAC covers."""
        fields = {"seq": self.seq, "chain_mac": self.chain_mac, "at": self.at}
        return _CONTEXT + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> dict[str, object]:
        """The head as stored and as sent to HQ."""
        return {"v": 2, "seq": self.seq, "chain_mac": self.chain_mac, "at": self.at,
                "head_mac": self.head_mac}  # fmt: skip

    @classmethod
    def from_json(cls, data: object) -> Head:
        """Read a head (or an anchor, which carries the same fields); ValueError/TypeError if not one."""
        if not isinstance(data, dict):
            raise TypeError("a head is a JSON object")
        seq, chain, at, mac = (data.get(k) for k in ("seq", "chain_mac", "at", "head_mac"))
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("a head's seq is a whole number")
        if not all(isinstance(v, str) and v for v in (chain, at, mac)):
            raise ValueError("a head needs chain_mac, at and head_mac")
        return cls(seq, str(chain), str(at), str(mac))


def _load_or_create_key(path: Path) -> tuple[bytes, bool]:
    """The head key and whether it was created now (0600, fsynced, never overwritten)."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process (hub / branch-provision) made it just now
            return _load_or_create_key(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return key, True
    if len(key) != 32:
        raise AuditError(f"{path}: the audit head key must be 32 bytes, found {len(key)}")
    return key, False


def _write_atomically(path: Path, text: str) -> None:
    # The contents are fsynced before the rename so a power cut never leaves an empty head (a
    # false forgery alarm); the folder is not: a rename lost leaves the older head, which is
    # behind the log, and that is accepted and repaired on open.
    # A temporary name of this writer's own: the hub and branch-provision may both write a head
    # at once, and a shared name let one truncate the other's file before its rename.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class HeadKeeper:
    """Signs, writes and reads the head file; keeps the last anchor HQ acknowledged."""

    def __init__(self, head_path: Path, key: bytes, *, key_is_new: bool = False) -> None:
        self.path = head_path
        self.anchored_path = head_path.with_suffix(".anchored")
        self._key = key
        self.key_is_new = key_is_new
        self.trusted = True  # cleared on open when the head shows tampering: never paper over it

    @classmethod
    def open(cls, folder: Path) -> HeadKeeper:
        """The head `audit.head` and its key `audit-head.key` in a folder (key made on first use)."""
        key, new = _load_or_create_key(folder / "audit-head.key")
        return cls(folder / "audit.head", key, key_is_new=new)

    def sign(self, seq: int, chain_mac: str) -> Head:
        """A head for the chain ending at `seq` with `chain_mac`, stamped now."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        unsigned = Head(seq, chain_mac, at, "")
        return Head(seq, chain_mac, at, self._mac(unsigned))

    def genuine(self, head: Head) -> bool:
        """Whether this hub's head key made the head (or anchor)."""
        return hmac.compare_digest(self._mac(head), head.head_mac)

    def _mac(self, head: Head) -> str:
        return hmac.new(self._key, head.body(), hashlib.sha256).hexdigest()

    def write(self, seq: int, chain_mac: str) -> None:
        """Sign and write the head (after the commit: a crash leaves it one commit behind)."""
        if self.trusted:
            _write_atomically(self.path, json.dumps(self.sign(seq, chain_mac).to_json()) + "\n")

    def snapshot(self) -> str | None:
        """The head file's text (None if there is none): read it before counting the entries,
        so another process appending meanwhile can only leave the head behind, never ahead."""
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return None

    def read(self, text: str | None = None) -> Head | None:
        """The head (on disk, or in `text`), None if none; AuditHeadForged if it is not signed."""
        text = self.snapshot() if text is None else text
        if text is None:
            return None
        try:
            return Head.from_json(json.loads(text))
        except (ValueError, TypeError):
            raise AuditHeadForged(
                "the audit head is not a signed head (rewritten, or left by an old version)",
                "审计日志头不是签名的日志头（被改写，或为旧版本遗留）",
            ) from None

    def anchored(self) -> Head | None:
        """The last anchor HQ acknowledged, as kept locally (None if none yet)."""
        try:
            return Head.from_json(json.loads(self.anchored_path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            raise AuditAnchorInvalid(
                f"{self.anchored_path.name} is not an anchor",
                f"{self.anchored_path.name} 不是日志锚点",
            ) from None

    def keep_anchor(self, head: Head) -> None:
        """Remember that HQ holds this head (only ever moves forward)."""
        current = self.anchored()
        if current is None or head.seq >= current.seq:
            _write_atomically(self.anchored_path, json.dumps(head.to_json()) + "\n")

    def start(self, tail: Callable[[], tuple[int, str]], mac_at: MacAt) -> None:
        """On open: migrate or create the head, repair a crash window, distrust a tampered head."""
        text = self.snapshot()
        count, tail_mac = tail()
        if text is None and count == 0 and self.key_is_new:
            self.write(0, GENESIS)  # a new log: from now on its end is provable
            return
        if text is not None and self.key_is_new and text.strip() == f"{count} {tail_mac}":
            self.write(count, tail_mac)  # the unsigned head of an older version, still matching
            return
        try:
            judge(count, mac_at, self, text, ())
        except AuditError as exc:
            log.warning("audit head not trusted, left as evidence: %s", exc)
            self.trusted = False
            return
        head = self.read(text)
        if head is not None and head.seq < count:  # killed between commit and head write
            self.write(count, tail_mac)


def judge(
    count: int, mac_at: MacAt, keeper: HeadKeeper, head_text: str | None, anchors: Iterable[Head]
) -> None:
    """Check a verified chain of `count` entries against its head (read before counting) and
    anchors, or raise."""
    head = keeper.read(head_text)
    if head is None:
        what = "the audit log is empty and" if count == 0 else "the audit log"
        raise AuditUnprovable(
            f"{what} has no head: cannot prove the log is complete",
            "审计日志没有日志头：无法证明日志完整"
            if count
            else "审计日志为空且没有日志头：无法证明日志完整",
        )
    if not keeper.genuine(head):
        raise AuditHeadForged(
            "the audit head's signature does not verify: the head was forged",
            "审计日志头的签名无法验证：日志头被伪造",
        )
    if head.seq > count:
        raise AuditTruncated(
            f"the audit log ends at entry {count} but its signed head records entry {head.seq}: "
            "entries were removed from the end",
            f"审计日志止于第 {count} 条，但签名日志头记录到第 {head.seq} 条：末尾的条目被删除",
        )
    if mac_at(head.seq) != head.chain_mac:
        raise AuditTruncated(
            f"audit entry {head.seq} differs from the one its signed head records: "
            "entries were removed and others written in their place",
            f"第 {head.seq} 条审计记录与签名日志头记录的不同：条目被删除并被替换",
        )
    for anchor in anchors:
        _check_anchor(count, mac_at, keeper, anchor)


def _check_anchor(count: int, mac_at: MacAt, keeper: HeadKeeper, anchor: Head) -> None:
    if not keeper.genuine(anchor):
        raise AuditAnchorInvalid(
            "the anchor was not made by this hub's audit head key",
            "该锚点不是由本网点集线器的审计日志头密钥生成的",
        )
    if anchor.seq > count:
        raise AuditRolledBack(
            f"rolled back: the log ends at {count} but HQ holds a head at {anchor.seq}",
            f"日志被回滚：日志止于第 {count} 条，但总行持有到第 {anchor.seq} 条的日志头",
        )
    if mac_at(anchor.seq) != anchor.chain_mac:
        raise AuditRolledBack(
            f"rolled back: entry {anchor.seq} differs from the head HQ holds "
            "(an older copy of the log was restored and written on)",
            f"日志被回滚：第 {anchor.seq} 条与总行持有的日志头不同（恢复了旧副本并继续写入）",
        )
