"""`branch-kiosk`: start the kiosk app."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from branch_common.cli import add_version
from branch_common.systemd import configure_logging

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-kiosk."""
    parser = argparse.ArgumentParser(
        prog="branch-kiosk",
        description="The customer's queue kiosk: a full-screen touchscreen app that talks only to the branch hub's API.",
    )
    parser.add_argument(
        "--hub", metavar="URL", required=True, help="hub address, https://HOST:PORT"
    )
    parser.add_argument(
        "--cert", type=Path, required=True, help="this kiosk's client certificate (PEM)"
    )
    parser.add_argument("--key", type=Path, required=True, help="this kiosk's private key (PEM)")
    parser.add_argument(
        "--ca", type=Path, required=True, help="the branch CA certificate (PEM) to pin"
    )
    parser.add_argument(
        "--font", type=Path, help="a font file with Chinese glyphs (default: found)"
    )
    parser.add_argument(
        "--size",
        default="1920x1080",
        help="window size WIDTHxHEIGHT when not full screen (1080x1920 for portrait)",
    )
    parser.add_argument("--windowed", action="store_true", help="do not go full screen")
    add_version(parser)
    return parser


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        print(
            f"branch-kiosk: error: --size must look like 1920x1080, got {text!r}", file=sys.stderr
        )
        raise SystemExit(2) from None  # a wrong command line, as argparse exits
    return width, height


def main(argv: list[str] | None = None) -> int:
    """Run branch-kiosk."""
    args = build_parser().parse_args(argv)
    configure_logging()  # journal lines under systemd (the kiosk's unit), stamped lines elsewhere
    for noisy in ("urllib3", "aiohttp"):  # Kivy lowers the root logger to DEBUG
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Imports are late: Kivy reads its environment and configuration when first imported.
    from branch_hub.client import DeviceTls, HubClient, HubError
    from branch_hub.client.fonts import FontMissing, find_cjk_font
    from branch_hub.client.renewal import CertificateKeeper, recover_pair

    try:
        font = find_cjk_font(args.font)
        tls = DeviceTls(args.cert, args.key, args.ca)
        recover_pair(tls)  # a renewal cut short by a crash: finish it before the first request
        client = HubClient(args.hub, tls)
    except (FontMissing, HubError, OSError) as exc:
        print(f"branch-kiosk: error: {exc}", file=sys.stderr)
        return 1
    width, height = _size(args.size)
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_HOME", str(Path(tempfile.gettempdir()) / "branch-kiosk-kivy"))
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "0" if args.windowed else "auto")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")

    from kiosk.app import KioskApp, use_font
    from kiosk.flow import Flow
    from kiosk.link import Controller, HubLink

    use_font(font)
    # The kiosk's certificate (--cert/--key) renews itself in place at start and once a day.
    keeper = CertificateKeeper(client).start()
    link = HubLink(client)
    controller = Controller(Flow(), link.inbox, link.submit)
    link.start()

    def stop() -> None:
        keeper.stop()
        link.stop()

    KioskApp(controller, stop).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
