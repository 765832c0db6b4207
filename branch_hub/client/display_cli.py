"""`branch-display`: set up the lobby TV's browser as an enrolled display, and start it.

    branch-display setup --home /var/lib/branch-display --enrol-uri 'branchedge://enrol?...' \
        --policy-dir /etc/chromium/policies/managed
    branch-display launch --home /var/lib/branch-display

`launch` renews the TV's certificate when it is due (as every device does at start), then
replaces itself with Chromium in kiosk mode (HOME set to the TV's home, where its NSS db is).
Arguments after `--` go to Chromium unchanged.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

from branch_common.cli import add_version, run_command
from branch_hub.client._errors import HubError
from branch_hub.client._rest import HubClient
from branch_hub.client.display import (
    DisplayError,
    TvHome,
    enrol_display,
    import_identity,
    kiosk_command,
    parse_enrolment_uri,
    write_policy,
)
from branch_hub.client.renewal import renew_if_due

__all__ = ["main"]

log = logging.getLogger("branch_hub.client.display")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="branch-display",
        description="Enrol the lobby TV's browser as a display device and start it in kiosk mode.",
    )
    add_version(p)
    sub = p.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup", help="enrol with a one-time code; import the certificate")
    setup.add_argument("--home", type=Path, required=True, help="the TV account's home folder")
    given = setup.add_mutually_exclusive_group(required=True)
    given.add_argument("--enrol-uri", help="the QR's text from branch-provision enroll")
    given.add_argument("--code", help="the one-time code (with --hub and --fingerprint)")
    setup.add_argument("--hub", default="", help="hub address https://HOST:PORT (with --code)")
    setup.add_argument("--fingerprint", default="", help="branch CA fingerprint (with --code)")
    setup.add_argument("--name", default="", help="the device name given to enroll")
    setup.add_argument(
        "--policy-dir",
        type=Path,
        default=None,
        help="write Chromium's managed policy here (on Debian: /etc/chromium/policies/managed)",
    )
    launch = sub.add_parser("launch", help="renew if due, then start Chromium in kiosk mode")
    launch.add_argument("--home", type=Path, required=True, help="the TV account's home folder")
    launch.add_argument("--chromium", default="chromium", help="the browser to start")
    launch.add_argument("chromium_args", nargs="*", help="after --: extra Chromium arguments")
    return p


def _setup(args: argparse.Namespace) -> int:
    home = TvHome(args.home)
    if args.enrol_uri:
        hub, fingerprint, code, name = parse_enrolment_uri(args.enrol_uri)
    else:
        if not (args.hub and args.fingerprint):
            raise DisplayError("--code needs --hub and --fingerprint")
        hub, fingerprint, code, name = args.hub, args.fingerprint, args.code, ""
    device_id = enrol_display(home, hub, code, fingerprint, args.name or name)
    import_identity(home)
    print(f"display {device_id} enrolled at {hub}; certificate in {home.nssdb}")
    if args.policy_dir is not None:
        print(f"Chromium policy: {write_policy(home, args.policy_dir, device_id)}")
    else:
        print("no --policy-dir: Chromium will not pick the certificate until the policy is written")
    return 0


def _renew(home: TvHome) -> None:
    """Renew the certificate when due; the TV keeps showing with the old one on any failure."""
    try:
        client = HubClient(home.hub_url(), home.tls(), timeout_s=10.0)
        try:
            renewed = renew_if_due(client)
        finally:
            client.close()
    except HubError as exc:
        log.warning("certificate renewal failed (retried at next start): %s", exc)
        return
    if renewed is not None:
        import_identity(home)
        log.info("display certificate renewed for %s", renewed.device_id)


def _launch(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="branch-display: %(message)s")
    home = TvHome(args.home)
    _renew(home)
    chromium = shutil.which(args.chromium)
    if chromium is None:
        raise DisplayError(f"{args.chromium} is not installed (Debian package chromium)")
    command = kiosk_command(home, chromium, list(args.chromium_args))
    env = dict(os.environ, HOME=str(home.root))  # Chromium finds HOME/.pki/nssdb
    sys.stdout.flush()
    os.execve(chromium, command, env)  # noqa: S606 - become the browser: systemd watches it
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    """Run branch-display; what it writes is owner-only but for the policy file."""
    args = _parser().parse_args(argv)
    previous = os.umask(0o077)
    try:
        body = _setup if args.command == "setup" else _launch
        return run_command("branch-display", lambda: body(args), (DisplayError, HubError))
    finally:
        os.umask(previous)


if __name__ == "__main__":
    sys.exit(main())
