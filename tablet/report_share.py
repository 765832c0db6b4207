"""The report as a PDF, handed on: fetched on the worker, kept briefly in a private folder.

The hub renders the PDF for the manager's role (the lobby manager's has no staff pages). The
file holds no customer names but staff figures, so it lives in a folder only the app can read
(0700, the file 0600), for at most `KEEP_S`: it is deleted at logout, at app start and an hour
after it was written. On Android it goes to the system's chooser through a FileProvider
content URI (packaging/tablet/p4a_hook.py declares the provider); on a desktop to `xdg-open`
or the command in settings.json `"report_opener"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

from tablet.device import DeviceStore
from tablet.i18n import N_, _
from tablet.worker import once_more_async

__all__ = [
    "KEEP_S",
    "ReportPdfFailed",
    "fetch_report_pdf",
    "forget_report_files",
    "report_folder",
]

KEEP_S = 3600.0
PROVIDER_SUFFIX = ".reports"  # the FileProvider's authority: the package name + this
DEFAULT_OPENER = "xdg-open"


class ReportPdfFailed(Exception):
    """The PDF could not be kept or handed on; `words` says why (English, translated)."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


def on_android() -> bool:
    """True inside the APK (python-for-android sets ANDROID_ARGUMENT)."""
    return "ANDROID_ARGUMENT" in os.environ


def _activity() -> Any:
    from jnius import autoclass  # type: ignore[import-not-found]  # Android only

    return autoclass("org.kivy.android.PythonActivity").mActivity


def report_folder(store: DeviceStore) -> Path:
    """Where PDFs wait to be handed on: the app's cache on Android, its data folder elsewhere."""
    if on_android():
        return Path(str(_activity().getCacheDir().getAbsolutePath())) / "reports"
    return store.root / "report-cache"


def forget_report_files(store: DeviceStore, older_than_s: float = 0.0) -> int:
    """Delete the kept PDFs (only those older than `older_than_s`); how many went."""
    folder = report_folder(store)
    gone = 0
    if not folder.is_dir():
        return 0
    now = time.time()
    for path in folder.glob("*.pdf"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime >= older_than_s:
                path.unlink()
                gone += 1
    return gone


def keep_pdf(store: DeviceStore, period: str, data: bytes) -> Path:
    """Check `data` is a PDF and write it, readable by the app alone."""
    if not data.startswith(b"%PDF"):
        raise ReportPdfFailed(N_("The hub's answer was not a PDF; please try again"))
    forget_report_files(store, KEEP_S)
    folder = report_folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / f"branch-report-{period}-{time.strftime('%Y%m%d-%H%M%S')}.pdf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def hand_on(store: DeviceStore, path: Path) -> None:
    """Give the file to whatever the tablet opens PDFs with."""
    try:
        if on_android():
            _android_chooser(path)
            return
        command = str(store.settings().get("report_opener") or DEFAULT_OPENER)
        subprocess.Popen(
            [*shlex.split(command), str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except (OSError, ValueError, ImportError) as exc:
        raise ReportPdfFailed(N_("This tablet cannot open the PDF")) from exc


def _android_chooser(path: Path) -> None:
    """ACTION_VIEW for a PDF viewer if one is installed, else ACTION_SEND (mail, drive, print)."""
    from jnius import autoclass, cast

    activity = _activity()
    intent_class = autoclass("android.content.Intent")
    uri = autoclass("androidx.core.content.FileProvider").getUriForFile(
        activity,
        activity.getPackageName() + PROVIDER_SUFFIX,
        autoclass("java.io.File")(str(path)),
    )
    intent = intent_class(intent_class.ACTION_VIEW)
    intent.setDataAndType(uri, "application/pdf")
    if intent.resolveActivity(activity.getPackageManager()) is None:
        intent = intent_class(intent_class.ACTION_SEND)
        intent.setType("application/pdf")
        intent.putExtra(intent_class.EXTRA_STREAM, cast("android.os.Parcelable", uri))
    intent.addFlags(intent_class.FLAG_GRANT_READ_URI_PERMISSION)
    title = cast("java.lang.CharSequence", autoclass("java.lang.String")(_("Branch report")))
    activity.startActivity(intent_class.createChooser(intent, title))


def fetch_report_pdf(tablet: Any, period: str) -> None:
    """Fetch the report's PDF, keep it privately for an hour and hand it on (tag `report_pdf`)."""
    tablet.activity()
    session = tablet.state.session

    async def job() -> Path:
        client = tablet._aclient()
        data = await once_more_async(lambda: client.branch_report_pdf(period))
        loop = asyncio.get_running_loop()
        path = await loop.run_in_executor(None, keep_pdf, tablet.store, period, data)
        if tablet.state.session is not session:  # logged out while it came: not kept
            await loop.run_in_executor(None, path.unlink)
            raise ReportPdfFailed(N_("Logged out before the PDF arrived"))
        await loop.run_in_executor(None, hand_on, tablet.store, path)
        loop.call_later(KEEP_S, loop.run_in_executor, None, partial(path.unlink, missing_ok=True))
        return path

    tablet.submit("report_pdf", job)
