"""`branch-kiosk`: start the kiosk app.

With no arguments it runs from its own folder (`--home`, default $BRANCH_KIOSK_HOME or
/var/lib/branch-kiosk): enrolled, it talks to the hub saved there; not yet, it shows the
enrolment screen first. `--hub/--cert/--key/--ca` name the files explicitly instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from branch_hub.client.commands import add_version, configure_logging

if TYPE_CHECKING:
    from branch_hub.client import DeviceTls
    from branch_hub.client.app_runner import UpdateWatcher
    from kiosk.app import KioskApp
    from kiosk.enrolment import KioskFolder
    from kiosk.link import Controller

__all__ = ["build_parser", "main"]

EXPLICIT = ("hub", "cert", "key", "ca")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-kiosk."""
    parser = argparse.ArgumentParser(
        prog="branch-kiosk",
        description="The customer's queue kiosk: a full-screen touchscreen app that talks only to "
        "the branch hub's API. With no arguments it runs from its folder and asks for an "
        "enrolment code on first start.",
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="the kiosk's state folder (default: $BRANCH_KIOSK_HOME or /var/lib/branch-kiosk); "
        "its enrolment/ subfolder holds hub.url, ca.crt, device.crt, device.key",
    )
    parser.add_argument("--hub", metavar="URL", help="hub address, https://HOST:PORT")
    parser.add_argument("--cert", type=Path, help="this kiosk's client certificate (PEM)")
    parser.add_argument("--key", type=Path, help="this kiosk's private key (PEM)")
    parser.add_argument("--ca", type=Path, help="the branch CA certificate (PEM) to pin")
    parser.add_argument(
        "--font", type=Path, help="a font file with Chinese glyphs (default: found)"
    )
    parser.add_argument(
        "--size",
        default="1920x1080",
        help="window size WIDTHxHEIGHT when not full screen (1080x1920 for portrait)",
    )
    parser.add_argument("--windowed", action="store_true", help="do not go full screen")
    parser.add_argument(
        "--self-check", action="store_true", help="import the app and exit 0 (update health check)"
    )
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


def _explicit(args: argparse.Namespace, parser: argparse.ArgumentParser) -> bool:
    given = [name for name in EXPLICIT if getattr(args, name) is not None]
    if given and len(given) != len(EXPLICIT):
        missing = ", ".join(f"--{n}" for n in EXPLICIT if n not in given)
        parser.error(f"--hub, --cert, --key and --ca go together (missing {missing})")
    if given and args.home is not None:
        parser.error("--home and --hub/--cert/--key/--ca are alternatives")
    return bool(given)


def _configure_kivy(args: argparse.Namespace, kivy_home: Path) -> None:
    width, height = _size(args.size)
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "0" if args.windowed else "auto")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")


Session = tuple["Controller", Callable[[], None], "UpdateWatcher | None"]


def _self_check() -> int:
    """Import the app as it would start (the updater's health check of a new version)."""
    import importlib

    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="branch-kiosk-check-"))
    for module in ("kiosk.link", "kiosk.enrolment", "kiosk.updates", "kiosk.app"):
        importlib.import_module(module)
    return 0


def _session(hub_url: str, tls: DeviceTls, folder: KioskFolder | None) -> Session:
    """Connect to the hub: renewal, the link, and (from a folder) following the hub if it moves
    and checking the hub's app channel for updates."""
    from branch_hub.client import HubClient
    from branch_hub.client.renewal import CertificateKeeper, recover_pair
    from kiosk.enrolment import HubFollower
    from kiosk.flow import Flow
    from kiosk.link import Controller, HubLink
    from kiosk.updates import watch

    recover_pair(tls)  # a renewal cut short by a crash: finish it before the first request
    client = HubClient(hub_url, tls)
    # The kiosk's certificate renews itself in place at start and once a day.
    keeper = CertificateKeeper(client).start()
    link = HubLink(client)
    follower = watcher = None
    if folder is not None:
        follower = HubFollower(folder, client, lambda: link.lost_since).start()
        watcher = watch(folder)
    controller = Controller(Flow(), link.inbox, link.submit)
    link.start()

    def stop() -> None:
        if watcher is not None:
            watcher.stop()
        if follower is not None:
            follower.stop()
        keeper.stop()
        link.stop()

    return controller, stop, watcher


def main(argv: list[str] | None = None) -> int:
    """Run branch-kiosk."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_check:
        return _self_check()
    explicit = _explicit(args, parser)
    configure_logging()  # journal lines under systemd (the kiosk's unit), stamped lines elsewhere
    for noisy in ("urllib3", "aiohttp"):  # Kivy lowers the root logger to DEBUG
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Imports are late: Kivy reads its environment and configuration when first imported.
    from branch_hub.client import DeviceTls, HubError
    from branch_hub.client.fonts import FontMissing, find_cjk_font
    from kiosk.enrolment import EnrolmentError, KioskFolder, default_home
    from kiosk.updates import launch, running_version

    home = args.home or default_home()
    folder = None if explicit else KioskFolder.under(home)
    if folder is not None and folder.enrolled:
        launch(folder)  # returns only when this is the version to run
    logging.getLogger("kiosk").info("kiosk running version %s", running_version())
    try:
        font = find_cjk_font(args.font)
        if explicit:
            started: Session | None = _session(
                args.hub, DeviceTls(args.cert, args.key, args.ca), None
            )
        elif folder is not None and folder.enrolled:
            started = _session(folder.hub_url(), folder.tls, folder)
        else:
            started = None
    except (FontMissing, HubError, EnrolmentError, OSError) as exc:
        print(f"branch-kiosk: error: {exc}", file=sys.stderr)
        return 1
    scratch = Path(tempfile.gettempdir()) / "branch-kiosk-kivy"
    if folder is not None:  # systemd's StateDirectory= makes it; by hand it may be missing
        (home / "kivy").mkdir(mode=0o700, parents=True, exist_ok=True)
    _configure_kivy(args, home / "kivy" if folder is not None else scratch)
    if started is not None:
        _run_kiosk(font, started)
    elif folder is not None:
        _run_enrolment_first(font, folder)
    return 0


def _run_kiosk(font: Path, started: Session) -> None:
    from kiosk.app import KioskApp, use_font

    use_font(font)
    controller, stop, watcher = started
    app = KioskApp(controller, stop, updates=watcher)
    app.run()
    _restart_if_due(app)


def _restart_if_due(app: KioskApp) -> None:
    """The app closed to start the newly installed version: the base install starts it."""
    from kiosk.updates import MODULE, restart

    if app.restart_due:
        restart(MODULE)


def _run_enrolment_first(font: Path, folder: KioskFolder) -> None:
    from kiosk.app import KioskApp, use_font
    from kiosk.enrol_view import EnrolView

    use_font(font)
    stops: list[Callable[[], None]] = []

    def first(app: KioskApp) -> EnrolView:
        def enrolled() -> None:
            controller, stop, watcher = _session(folder.hub_url(), folder.tls, folder)
            stops.append(stop)
            app.enrolled(controller, stop, watcher)

        return EnrolView(folder, enrolled)

    def stop_all() -> None:
        for stop in stops:
            stop()

    app = KioskApp(None, stop_all, first)
    app.run()
    _restart_if_due(app)


if __name__ == "__main__":
    sys.exit(main())
