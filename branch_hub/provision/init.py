"""`branch-provision init`: branch CA, hub certificate, hub sync key, first admin, hub.toml."""

from __future__ import annotations

import argparse
import json
import shutil
import tomllib
from importlib import resources
from pathlib import Path

from branch_hub.config import BranchConfig, ConfigError, parse_config, split_listen
from branch_hub.identity import HubPki, server_names, write_hub_identity
from branch_hub.pki import CertifiedKey, ca_fingerprint
from branch_hub.provision.common import (
    Branch,
    ProvisionError,
    add_name_arguments,
    check_name_arguments,
    read_pin,
)
from branch_hub.security.errors import StaffError
from branch_hub.security.hub import HubSecurity
from branch_hub.security.passwords import check_secret_policy

__all__ = ["DATA_FOLDER", "register"]

DATA_FOLDER = "var"  # the hub's data folder inside the branch folder, relative to hub.toml


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `init`."""
    p = sub.add_parser(
        "init",
        help="create a branch: CA, hub certificate and sync key, first admin, hub.toml",
        description="Create a branch folder: the branch CA (EC P-256), the hub's TLS server "
        "certificate, the hub's X25519 sync key pair (its public key goes to HQ), a first "
        "branch_admin account and a validated hub.toml. Private keys are written 0600. Nothing "
        "is overwritten without --force.",
    )
    p.add_argument("--dir", type=Path, required=True, help="the branch folder to create")
    p.add_argument("--branch-id", required=True, help="branch id as HQ knows it")
    p.add_argument("--name", required=True, help="branch name in Chinese")
    p.add_argument("--name-en", default="", help="branch name in English (default: --name)")
    p.add_argument("--region-code", required=True, help="6-digit GB/T 2260 district code")
    p.add_argument("--timezone", default="Asia/Shanghai", help="IANA time zone")
    add_name_arguments(p)
    p.add_argument("--listen", default="0.0.0.0:8443", help="HOST:PORT the hub listens on")
    p.add_argument("--admin-id", default="admin", help="staff id of the first branch_admin")
    p.add_argument("--admin-name", default="Branch administrator", help="their name")
    p.add_argument("--pin-stdin", action="store_true", help="read the admin PIN from stdin")
    p.add_argument("--force", action="store_true", help="replace an existing branch folder")
    p.set_defaults(func=run)


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _hub_toml(args: argparse.Namespace, ca_fp: str = "") -> str:
    sample = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    # Keep the sample's services, counters and stations as a starting point for IT to edit.
    rest = sample[sample.index("[hq]") :]
    return "\n".join(
        [
            "# Written by branch-provision init. Every key is described in docs/configuration.md.",
            "version = 1",
            "",
            "[branch]",
            f"id = {_toml_string(args.branch_id)}",
            f"name_zh = {_toml_string(args.name)}",
            f"name_en = {_toml_string(args.name_en or args.name)}",
            f"region_code = {_toml_string(args.region_code)}",
            f"timezone = {_toml_string(args.timezone)}",
            "",
            "[hub]",
            f"listen = {_toml_string(args.listen)}",
            # Installing copies DIR/var to /var/lib/branch-edge and points this line there.
            f"data_dir = {_toml_string(DATA_FOLDER)}",
            f"ca_fingerprint = {_toml_string(ca_fp)}",
            "kiosk_session_timeout_s = 60",
            "staff_idle_timeout_s = 900",
            "",
            rest,
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Create the branch folder."""
    folder: Path = args.dir
    toml_path = folder / "hub.toml"
    data_dir = folder / DATA_FOLDER
    _refuse_bad_arguments(args, toml_path, data_dir)
    names, addresses = server_names(args.host, args.address)
    try:
        config = parse_config(tomllib.loads(_hub_toml(args)), str(toml_path))
    except ConfigError as exc:
        raise ProvisionError(str(exc)) from None
    pin = read_pin(args.pin_stdin, f"PIN for {args.admin_id}")
    try:
        check_secret_policy(pin)  # before anything is written
    except StaffError as exc:
        raise ProvisionError(str(exc)) from None

    if args.force and data_dir.exists():
        shutil.rmtree(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    port = split_listen(args.listen)[1]
    pki = HubPki(data_dir / "pki")
    ca = write_hub_identity(pki, config.branch.id, names, addresses, port)
    hub_id = f"{config.branch.id}-hub"
    from sync.keys import write_key_pair

    cache = data_dir / "cache"
    cache.mkdir(parents=True)
    sync_fp = write_key_pair("hub", cache / "hub_sync.key", cache / "hub_sync.pub")
    toml_path.write_text(_hub_toml(args, ca_fingerprint(ca.cert)), encoding="utf-8")
    _add_first_admin(args, config, data_dir, ca, hub_id, pin)
    branch = Branch.load(folder)  # prove the written folder loads
    print(f"branch {branch.config.branch.id} provisioned in {folder}")
    print(f"  hub.toml:           {toml_path}")
    print(f"  hub data folder:    {data_dir} (installing copies it to /var/lib/branch-edge)")
    print(f"  CA fingerprint:     {ca_fingerprint(ca.cert)}")
    print(f"  certificate names:  {', '.join([*names, *addresses])}")
    print(f"  hub sync key (HQ):  {cache / 'hub_sync.pub'} (fingerprint {sync_fp})")
    print(f"  first admin:        {args.admin_id}")
    return 0


def _refuse_bad_arguments(args: argparse.Namespace, toml_path: Path, data_dir: Path) -> None:
    if (toml_path.exists() or data_dir.exists()) and not args.force:
        raise ProvisionError(
            f"{args.dir} already holds a branch; pass --force to replace it (this invalidates "
            "every enrolled device and staff account)"
        )
    check_name_arguments(args)


def _add_first_admin(
    args: argparse.Namespace,
    config: BranchConfig,
    data_dir: Path,
    ca: CertifiedKey,
    hub_id: str,
    pin: str,
) -> None:
    security = HubSecurity.open(data_dir, config.hub.staff_idle_timeout_s, ca=ca)
    try:
        security.staff.add(args.admin_id, args.admin_name, "branch_admin", pin)
    except StaffError as exc:
        raise ProvisionError(str(exc)) from None
    security.audit.record(
        "config_change", subject=config.branch.id, detail={"step": "init", "hub_id": hub_id}
    )
    security.audit.record("staff_change", staff_id=args.admin_id, detail={"step": "add"})
    security.close()
