"""What every branch-provision subcommand shares: the branch folder's layout and errors."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from branch_hub.config import BranchConfig, ConfigError, load_config, resolve_data_dir
from branch_hub.security.hub import HubSecurity, security_folder

__all__ = [
    "Branch",
    "ProvisionError",
    "add_dir_argument",
    "add_name_arguments",
    "check_name_arguments",
    "read_pin",
]


class ProvisionError(Exception):
    """A provisioning step cannot be done; the message says why and what to do."""


def add_dir_argument(parser: argparse.ArgumentParser) -> None:
    """Add the --dir option every subcommand takes."""
    parser.add_argument(
        "--dir",
        type=Path,
        required=True,
        help="the branch folder made by 'branch-provision init' (holds hub.toml)",
    )


def add_name_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --host and --address: the names and addresses the hub's certificate covers."""
    parser.add_argument(
        "--host",
        action="append",
        default=None,
        help="host name devices use for the hub (TLS SAN; repeatable; default: this machine's "
        "name; a one-label NAME also gets NAME.local; localhost is always added)",
    )
    parser.add_argument(
        "--address",
        action="append",
        default=[],
        help="IP address devices use for the hub (TLS SAN; repeatable; 127.0.0.1 and ::1 are "
        "always added)",
    )


def check_name_arguments(args: argparse.Namespace) -> None:
    """Raise ProvisionError for a --host or --address that cannot go into a certificate."""
    for address in args.address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ProvisionError(f"--address {address!r} is not an IP address") from None
    for host in args.host or []:
        if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", host):
            raise ProvisionError(f"--host {host!r} is not a host name")


@dataclass(frozen=True)
class Branch:
    """A provisioned branch folder: DIR/hub.toml and the hub's data directory."""

    folder: Path
    config: BranchConfig
    data_dir: Path

    @classmethod
    def load(cls, folder: Path) -> Branch:
        """Load DIR/hub.toml or raise ProvisionError."""
        path = folder / "hub.toml"
        if not path.exists():
            raise ProvisionError(f"{path} does not exist; run 'branch-provision init' first")
        try:
            config = load_config(path)
        except ConfigError as exc:
            raise ProvisionError(str(exc)) from None
        return cls(folder, config, resolve_data_dir(config, path))

    @property
    def pki_dir(self) -> Path:
        """The branch CA and the hub's TLS certificate."""
        return self.data_dir / "pki"

    @property
    def security_dir(self) -> Path:
        """Staff, devices, enrolment codes and the audit log."""
        return security_folder(self.data_dir)

    def hub_info(self) -> dict[str, Any]:
        """What init recorded about the hub (id, host names, addresses, port)."""
        path = self.pki_dir / "hub.json"
        try:
            info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProvisionError(f"{path} is missing or unreadable; run init again") from exc
        return info

    def security(self) -> HubSecurity:
        """Open the hub's security stores (the hub may be running: SQLite WAL allows both)."""
        from branch_hub.pki import load_pem_pair

        ca = None
        if (self.pki_dir / "ca.key").exists():
            ca = load_pem_pair(self.pki_dir / "ca.crt", self.pki_dir / "ca.key")
        return HubSecurity.open(self.data_dir, self.config.hub.staff_idle_timeout_s, ca=ca)


def read_pin(from_stdin: bool, prompt: str = "PIN or password") -> str:
    """Read a PIN from one stdin line (scripts) or twice from the terminal (people)."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ProvisionError("expected the PIN on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ProvisionError("no terminal to ask for the PIN; pass --pin-stdin and pipe it in")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} again: ") != first:
        raise ProvisionError("the two entries differ")
    return first
