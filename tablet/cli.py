"""`branch-tablet`: start the tablet app."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from branch_hub.client.commands import add_version, configure_logging

if TYPE_CHECKING:
    from branch_hub.client.app_runner import UpdateWatcher
    from tablet.app import TabletApp
    from tablet.device import DeviceStore

__all__ = ["build_parser", "main"]


MULTISAMPLES = 0  # Kivy's default is 2


async def _run_app(
    store: DeviceStore, idle_timeout_s: float, updates: UpdateWatcher | None
) -> TabletApp:
    """Run the app on this loop until it closes; then let the last hub calls finish."""
    from tablet.app import TabletApp
    from tablet.controller import Tablet
    from tablet.report_share import forget_report_files

    forget_report_files(store)  # a PDF left by a crash or a killed app
    tablet = Tablet(store, idle_timeout_s=idle_timeout_s, loop=asyncio.get_running_loop())
    app = TabletApp(tablet, updates=updates)
    await app.async_run(async_lib="asyncio")
    await tablet.aclose()
    return app


def _configure_kivy(width: int, height: int) -> None:
    """Window settings, read by Kivy when it makes the window."""
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("kivy", "exit_on_escape", "0")
    # No multisampling: flat fills and text gain nothing from it, and without a GPU (software GL)
    # it made every frame 2-4x slower (docs/performance.md).
    Config.set("graphics", "multisamples", str(MULTISAMPLES))


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-tablet."""
    parser = argparse.ArgumentParser(
        prog="branch-tablet",
        description="The staff app for tablets and counter PCs: live arrivals, customer briefs, calling, outcomes.",
    )
    parser.add_argument(
        "--hub", metavar="URL", help="hub address (default: saved, or discover by mDNS)"
    )
    parser.add_argument(
        "--home", type=Path, help="app data folder (default: $BRANCH_TABLET_HOME or XDG data dir)"
    )
    parser.add_argument("--counter", help="counter id a teller calls to (saved in settings)")
    parser.add_argument(
        "--font", type=Path, help="a font file with Chinese glyphs (default: found)"
    )
    parser.add_argument("--size", default="1280x800", help="window size WIDTHxHEIGHT")
    parser.add_argument(
        "--idle-timeout", type=float, default=300.0, help="seconds without a touch before logout"
    )
    parser.add_argument(
        "--self-check", action="store_true", help="import the app and exit 0 (update health check)"
    )
    add_version(parser)
    return parser


def _bundled_font() -> Path | None:
    """The CJK font an APK carries (packaging/scripts/build-tablet-apk.sh puts it there)."""
    fonts = Path(__file__).resolve().parent / "data" / "fonts"
    found = sorted(fonts.glob("*.tt[cf]")) if fonts.is_dir() else []
    return found[0] if found else None


def main(argv: list[str] | None = None) -> int:
    """Run branch-tablet."""
    args = build_parser().parse_args(argv)
    if args.self_check:
        import importlib
        import tempfile

        os.environ.setdefault("KIVY_NO_ARGS", "1")
        os.environ.setdefault("KIVY_NO_FILELOG", "1")
        os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="branch-tablet-check-"))
        for module in ("tablet.controller", "tablet.updates", "tablet.app"):
            importlib.import_module(module)
        return 0
    from branch_hub.client.fonts import FontMissing, find_cjk_font
    from tablet.device import DeviceStore, default_home

    try:
        font = find_cjk_font(args.font or _bundled_font())
    except FontMissing as exc:
        print(f"branch-tablet: error: {exc}", file=sys.stderr)
        return 1
    try:
        width, height = (int(p) for p in args.size.lower().split("x"))
    except ValueError:
        print(
            f"branch-tablet: error: --size must look like 1280x800, got {args.size!r}",
            file=sys.stderr,
        )
        return 2
    configure_logging()  # journal lines under systemd, stamped lines elsewhere
    home = args.home or default_home()
    store = DeviceStore(home)
    if args.hub:
        store.save_settings(hub_url=args.hub)
    if args.counter:
        store.save_settings(counter=args.counter)
    from tablet.updates import MODULE, launch, restart, running_version, watch

    launch(store)  # returns only when this is the version to run
    logging.getLogger("tablet").info("tablet running version %s", running_version())
    # Kivy keeps its own files next to ours, never in ~/.kivy; no log file (it could grow).
    os.environ.setdefault("KIVY_HOME", str(home / "kivy"))
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    # Kivy runs on asyncio; the hub calls and the event stream are tasks on the same loop.
    os.environ.setdefault("KIVY_EVENTLOOP", "asyncio")
    _configure_kivy(width, height)
    from tablet.app import use_font

    use_font(font)
    app = asyncio.run(_run_app(store, args.idle_timeout, watch(store)))
    if app.restart_due:  # closed to start the newly installed version
        restart(MODULE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
