"""`branch-provision audit verify|export`: check and export the hash-chained audit log."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from branch_hub.provision.common import Branch, ProvisionError, add_dir_argument
from branch_hub.security.audit_head import Head
from branch_hub.security.errors import AuditAnchorInvalid, AuditError

if TYPE_CHECKING:
    from branch_hub.security.audit import AuditEntry
    from branch_hub.security.hub import HubSecurity

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit` with its actions."""
    p = sub.add_parser("audit", help="check or export the audit log")
    actions = p.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the chain, its signed head and HQ's anchor (exit status by fault: "
        "1 altered, 3 truncated, 4 forged head, 5 no head, 6 rolled back, 7 bad anchor)",
    )
    add_dir_argument(verify)
    verify.add_argument(
        "--anchor",
        type=Path,
        action="append",
        default=[],
        help="the audit head HQ holds ('branch-sync audit-anchor' writes it); repeatable",
    )
    verify.set_defaults(func=run_verify)
    export = actions.add_parser("export", help="write the log as JSON Lines (ids only)")
    add_dir_argument(export)
    export.add_argument("--out", type=Path, default=None, help="file (default: stdout)")
    export.add_argument(
        "--since",
        type=dt.date.fromisoformat,
        help="first day to export, YYYY-MM-DD in the branch's time zone (default: the beginning)",
    )
    export.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        help="last day to export, YYYY-MM-DD, inclusive (default: today)",
    )
    export.add_argument("--staff", help="only entries of this staff id")
    export.add_argument("--device", help="only entries of this device id")
    export.set_defaults(func=run_export)


def _close(security: HubSecurity) -> None:
    """Close the stores; closing writes what was recorded (waiting while the hub holds the lock)."""
    try:
        security.close()
    except AuditError as exc:
        raise ProvisionError(f"the audit log could not be written: {exc}") from None


def _read_anchor(path: Path) -> Head:
    try:
        return Head.from_json(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ProvisionError(f"cannot read the anchor {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise AuditAnchorInvalid(
            f"{path} is not an audit anchor", f"{path} 不是审计日志锚点"
        ) from None


def run_verify(args: argparse.Namespace) -> int:
    """Verify the chain, the head and the anchors; the exit status names the fault."""
    security = Branch.load(args.dir).security()
    try:
        count = security.audit.verify([_read_anchor(path) for path in args.anchor])
    except AuditError as exc:
        print(f"audit log BROKEN ({exc.reason}): {exc}", file=sys.stderr)
        print(f"审计日志异常（{exc.reason}）：{exc.message_zh}", file=sys.stderr)
        return exc.exit_code
    finally:
        _close(security)
    anchored = " and HQ's anchor" if args.anchor else ""
    print(f"audit log OK: {count} entries, chain intact, signed head{anchored} match")
    print(
        f"审计日志正常：{count} 条，链条完整，签名日志头{'与总行锚点' if args.anchor else ''}一致"
    )
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export (after verifying) and record the export itself."""
    branch = Branch.load(args.dir)
    security = branch.security()
    try:
        try:
            security.audit.verify()
        except AuditError as exc:
            raise ProvisionError(f"not exporting a broken log: {exc}") from None
        wanted = _selector(args, ZoneInfo(branch.config.branch.timezone))
        lines = [
            json.dumps(e.to_json(), ensure_ascii=False)
            for e in security.audit.entries()
            if wanted(e)
        ]
        text = "\n".join(lines) + ("\n" if lines else "")
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        security.audit.record(
            "export",
            subject="audit",
            detail={
                "entries": len(lines),
                "to_file": bool(args.out),
                "since": args.since.isoformat() if args.since else None,
                "until": args.until.isoformat() if args.until else None,
                "staff": args.staff,
                "device": args.device,
            },
        )
    finally:
        _close(security)
    return 0


def _selector(args: argparse.Namespace, zone: ZoneInfo) -> Callable[[AuditEntry], bool]:
    """The export's filter: a period of branch days, a staff member, a device (all optional)."""
    start = dt.datetime.combine(args.since, dt.time(), zone) if args.since else None
    end = (
        dt.datetime.combine(args.until + dt.timedelta(days=1), dt.time(), zone)
        if args.until
        else None
    )

    def wanted(entry: AuditEntry) -> bool:
        at = dt.datetime.fromisoformat(entry.at)
        return (
            (start is None or at >= start)
            and (end is None or at < end)
            and (args.staff is None or entry.staff_id == args.staff)
            and (args.device is None or entry.device_id == args.device)
        )

    return wanted
