"""What the apps' commands share with every branch-edge command: `--version` and log lines that
suit journald (the apps reach `branch_common` only through the device client)."""

from __future__ import annotations

from branch_common.cli import add_version
from branch_common.systemd import configure_logging

__all__ = ["add_version", "configure_logging"]
