"""The report PDF's private folder (0700 / 0600, an hour at most) and the APK's FileProvider."""

from __future__ import annotations

import importlib.util
import os
import stat
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tablet.device import DeviceStore
from tablet.report_share import (
    KEEP_S,
    PROVIDER_SUFFIX,
    ReportPdfFailed,
    forget_report_files,
    hand_on,
    keep_pdf,
    report_folder,
)

ROOT = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.4\n%fake but shaped like one\n"


def test_a_pdf_is_kept_for_the_app_alone(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "tablet")
    path = keep_pdf(store, "day", PDF)
    assert path.parent == report_folder(store)
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_answer_that_is_not_a_pdf_is_not_written(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "tablet")
    with pytest.raises(ReportPdfFailed):
        keep_pdf(store, "day", b"<html>proxy login</html>")
    assert not report_folder(store).exists()


def test_files_older_than_an_hour_go_and_logout_takes_the_rest(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "tablet")
    old = keep_pdf(store, "week", PDF)
    hour_ago = time.time() - KEEP_S - 5
    os.utime(old, (hour_ago, hour_ago))
    fresh = keep_pdf(store, "month", PDF)  # keeping a new one sweeps out the old
    assert not old.exists()
    assert fresh.exists()
    assert forget_report_files(store, KEEP_S) == 0
    assert forget_report_files(store) == 1
    assert not fresh.exists()


def test_the_opener_from_settings_receives_the_path(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "tablet")
    seen = tmp_path / "seen"
    script = tmp_path / "opener.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{seen}"\n', "utf-8")
    script.chmod(0o700)
    store.save_settings(report_opener=str(script))
    path = keep_pdf(store, "day", PDF)
    hand_on(store, path)
    deadline = time.monotonic() + 10
    while not seen.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen.read_text("utf-8") == str(path)
    store.save_settings(report_opener=str(tmp_path / "missing"))
    with pytest.raises(ReportPdfFailed):
        hand_on(store, path)


def _hook() -> Any:
    spec = importlib.util.spec_from_file_location(
        "p4a_hook", ROOT / "packaging" / "tablet" / "p4a_hook.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_apk_declares_the_file_provider_once(tmp_path: Path) -> None:
    hook = _hook()
    main = tmp_path / "src" / "main"
    main.mkdir(parents=True)
    manifest = main / "AndroidManifest.xml"
    manifest.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<manifest xmlns:android='
        '"http://schemas.android.com/apk/res/android" package="org.branchedge.branchedgetablet">\n'
        '<application android:label="x">\n<activity android:name="a" />\n</application>\n'
        "</manifest>\n",
        "utf-8",
    )

    class Dist:
        dist_dir = str(tmp_path)

    class Toolchain:
        _dist = Dist()

    hook.after_apk_build(Toolchain())
    hook.after_apk_build(Toolchain())  # a rebuild: still one provider
    android = "{http://schemas.android.com/apk/res/android}"
    root = ET.parse(manifest).getroot()  # noqa: S314  (the hook's own output)
    providers = root.findall("application/provider")
    assert len(providers) == 1
    assert providers[0].get(f"{android}authorities", "").endswith(PROVIDER_SUFFIX)
    assert providers[0].get(f"{android}exported") == "false"
    viewers = root.findall("queries/intent/data")
    assert [d.get(f"{android}mimeType") for d in viewers] == ["application/pdf"]
    paths = ET.parse(main / "res" / "xml" / "report_paths.xml").getroot()  # noqa: S314
    assert [(p.tag, p.get("path")) for p in paths] == [("cache-path", "reports/")]
