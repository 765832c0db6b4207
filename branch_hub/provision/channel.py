"""`branch-provision channel`: the hub's app channels, device and group assignment, reports."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from branch_hub import __version__
from branch_hub.appstore.bundle import Refused
from branch_hub.appstore.store import CHANNELS, AppStore, AppStoreError
from branch_hub.config import ConfigError, load_config, resolve_data_dir
from branch_hub.provision.common import Branch, ProvisionError
from branch_hub.security.errors import AuditError

__all__ = ["register", "store_folder"]


def store_folder(directory: Path) -> Path:
    """The app store folder of a branch: DATA_DIR/appstore when DIR holds hub.toml, else DIR/appstore."""
    config_path = directory / "hub.toml"
    if config_path.is_file():
        config = load_config(config_path)
        return resolve_data_dir(config, config_path) / "appstore"
    return directory / "appstore"


def _act(store: AppStore, args: argparse.Namespace) -> dict[str, str] | None:
    """Carry out one action; return what it changed (for the audit log), None for a read."""
    action = args.channel_action
    if action == "trust":
        store.trust(args.release_pubkey.read_bytes())
        print(f"trusting release key {args.release_pubkey}")
        return {"step": "channel_trust"}
    if action == "publish":
        man = store.publish(args.bundle, args.channel, hub_version=__version__)
        print(f"{man.app} {man.version} is now on {args.channel}")
        return {
            "step": "channel_publish",
            "app": man.app,
            "version": man.version,
            "channel": args.channel,
        }
    if action == "assign":
        store.assign(args.channel, device=args.device, group=args.group)
        print(f"{args.device or 'group ' + args.group} follows {args.channel}")
        who = {"device": args.device} if args.device else {"group": args.group}
        return {"step": "channel_assign", "channel": args.channel, **who}
    if action == "group":
        store.set_group(args.device, args.group)
        print(f"{args.device} is in group {args.group}")
        return {"step": "channel_group", "device": args.device, "group": args.group}
    if action == "show":
        print(json.dumps(store.summary(), indent=1, ensure_ascii=False))
    elif action == "reports":
        print(json.dumps(store.reports(args.limit), indent=1, ensure_ascii=False))
    return None


def _audit(directory: Path, detail: dict[str, str]) -> None:
    """Record a channel change in the branch's audit log (a folder without hub.toml has none)."""
    if not (directory / "hub.toml").is_file():
        return
    security = Branch.load(directory).security()
    try:
        security.audit.record("config_change", subject="appstore", detail=detail)
    finally:
        security.close()


def _run(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        print(
            f"branch-provision channel: error: {args.dir} is not a branch folder", file=sys.stderr
        )
        return 1
    try:
        store = AppStore(store_folder(args.dir))
    except (ConfigError, OSError, sqlite3.Error) as exc:
        print(f"branch-provision channel: error: {exc}", file=sys.stderr)
        return 1
    try:
        changed = _act(store, args)
    except Refused as exc:
        print(f"branch-provision channel: refused ({exc.reason}): {exc}", file=sys.stderr)
        return 1
    except (AppStoreError, ConfigError, OSError) as exc:
        print(f"branch-provision channel: error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if changed is not None:
        try:
            _audit(args.dir, changed)
        except (ProvisionError, AuditError) as exc:
            print(f"branch-provision channel: error: {exc}", file=sys.stderr)
            return 1
    return 0


def register(sub: Any) -> None:
    """Add `channel` with its actions to branch-provision."""
    ch = sub.add_parser(
        "channel",
        help="app channels (stable, canary): publish releases, assign devices and groups",
        description="Manage the hub's app channels. Devices follow their own channel, else "
        "their group's, else stable.",
    )
    ch.set_defaults(func=_run)
    acts = ch.add_subparsers(dest="channel_action", required=True, metavar="ACTION")

    def action(name: str, text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = acts.add_parser(name, help=text, description=text)
        p.add_argument("--dir", type=Path, required=True, help="the branch folder")
        return p

    trust = action("trust", "install the release public key the hub checks bundles against")
    trust.add_argument("--release-pubkey", type=Path, required=True)
    pub = action("publish", "verify a release bundle and put it on a channel")
    pub.add_argument("bundle", type=Path)
    pub.add_argument("--channel", choices=CHANNELS, default="stable")
    asg = action("assign", "put a device or a group on a channel")
    asg.add_argument("--channel", choices=CHANNELS, required=True)
    who = asg.add_mutually_exclusive_group(required=True)
    who.add_argument("--device", help="device id (certificate CN)")
    who.add_argument("--group", help="group name")
    grp = action("group", "make a device a member of a group")
    grp.add_argument("--device", required=True)
    grp.add_argument("--group", required=True)
    action("show", "print channels, assignments and groups")
    rep = action("reports", "print devices' install, refusal and rollback reports")
    rep.add_argument("--limit", type=int, default=50)
