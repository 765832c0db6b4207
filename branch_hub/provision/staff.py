"""`branch-provision staff add|disable|enable|list`: staff accounts.

`enable` also lifts a lock left by wrong PINs; `list` shows the lock and when it ends.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from branch_hub.provision.common import Branch, ProvisionError, add_dir_argument, read_pin
from branch_hub.security.errors import StaffError
from branch_hub.security.roles import ROLES

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `staff` with its actions."""
    p = sub.add_parser("staff", help="staff accounts")
    actions = p.add_subparsers(dest="staff_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a staff account")
    add_dir_argument(add)
    add.add_argument("staff_id")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    add.set_defaults(func=add_staff)
    for name, disabled in (("disable", True), ("enable", False)):
        q = actions.add_parser(name, help=f"{name} a staff account")
        add_dir_argument(q)
        q.add_argument("staff_id")
        q.set_defaults(func=set_disabled, disabled=disabled)
    ls = actions.add_parser("list", help="list staff accounts")
    add_dir_argument(ls)
    ls.set_defaults(func=list_staff)


def add_staff(args: argparse.Namespace) -> int:
    """Create one account."""
    branch = Branch.load(args.dir)
    pin = read_pin(args.pin_stdin, f"PIN for {args.staff_id}")
    security = branch.security()
    try:
        security.staff.add(args.staff_id, args.name, args.role, pin)
        security.audit.record(
            "staff_change", staff_id=args.staff_id, detail={"step": "add", "role": args.role}
        )
    except StaffError as exc:
        raise ProvisionError(str(exc)) from None
    finally:
        security.close()
    print(f"staff {args.staff_id} added as {args.role}")
    return 0


def set_disabled(args: argparse.Namespace) -> int:
    """Disable or re-enable one account."""
    security = Branch.load(args.dir).security()
    try:
        security.staff.set_disabled(args.staff_id, args.disabled)
        step = "disable" if args.disabled else "enable"
        security.audit.record("staff_change", staff_id=args.staff_id, detail={"step": step})
    except StaffError as exc:
        raise ProvisionError(str(exc)) from None
    finally:
        security.close()
    print(f"staff {args.staff_id} {'disabled' if args.disabled else 'enabled'}")
    return 0


def list_staff(args: argparse.Namespace) -> int:
    """Print the accounts."""
    security = Branch.load(args.dir).security()
    try:
        now = time.time()
        for a in security.staff.list():
            state = "disabled" if a.disabled else "active"
            if not a.disabled and a.locked_until > now:
                until = datetime.fromtimestamp(a.locked_until).astimezone()
                state = f"locked until {until:%Y-%m-%d %H:%M %Z}"
            print(f"{a.staff_id:<12} {a.role:<16} {state:<9} {a.name}")
    finally:
        security.close()
    return 0
