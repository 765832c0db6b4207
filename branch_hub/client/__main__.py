"""`python -m branch_hub.client update ...`: one update round for a device (systemd timer).

Exit status: 0 up to date, 10 a new version was installed (restart the app), 3 the new
version failed its health check and was rolled back, 4 the offered bundle was refused,
2 the update could not run (hub unreachable, bad arguments).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from branch_hub.client.app_runner import KeyFileError, load_release_key
from branch_hub.client.bundle import APPS
from branch_hub.client.updater import AppUpdater, UpdaterError
from branch_hub.vocabulary import AppName

__all__ = ["main"]

EXIT = {"up_to_date": 0, "skipped": 0, "installed": 10, "rolled_back": 3, "refused": 4}


def main(argv: list[str] | None = None) -> int:
    """Run one update round."""
    p = argparse.ArgumentParser(prog="python -m branch_hub.client", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("update", help="check, download, verify, install, health-check")
    up.add_argument("--app", choices=APPS, required=True)
    hub = up.add_mutually_exclusive_group(required=True)
    hub.add_argument("--hub", help="hub base URL (https://HOST:PORT)")
    hub.add_argument("--hub-from", type=Path, help="file holding the hub base URL")
    up.add_argument("--root", type=Path, required=True, help="the app's install folder")
    up.add_argument("--release-key", type=Path, required=True, help="release public key (PEM)")
    up.add_argument("--ca", required=True, help="branch CA certificate pinned at enrolment")
    up.add_argument("--cert", required=True, help="this device's client certificate")
    up.add_argument("--key", required=True, help="this device's private key")
    up.add_argument(
        "--health-cmd",
        default=None,
        help="command that exits 0 when the new version starts fine "
        "(default: python -m APP.cli --help from the new version)",
    )
    up.add_argument("--health-timeout", type=float, default=60.0)
    args = p.parse_args(argv)
    try:
        url = args.hub or args.hub_from.read_text().strip()
        updater = AppUpdater(
            url,
            AppName(args.app),
            args.root,
            load_release_key(args.release_key),
            ca_file=args.ca,
            client_cert=(args.cert, args.key),
        )
        health = (
            shlex.split(args.health_cmd)
            if args.health_cmd
            else [sys.executable, "-m", f"{args.app}.cli", "--help"]
        )
        result = updater.update(health, args.health_timeout)
        updater.close()
    except (UpdaterError, KeyFileError, OSError) as exc:
        print(f"app update: error: {exc}", file=sys.stderr)
        return 2
    print(f"app update: {result.outcome} {result.version or ''} {result.reason}".rstrip())
    if result.detail:
        print(f"  {result.detail}")
    return EXIT.get(result.outcome, 2)


if __name__ == "__main__":
    sys.exit(main())
