"""python-for-android hook (buildozer.spec `p4a.hook`): the FileProvider the report PDF needs.

The tablet hands the report PDF to other apps as a content URI (tablet/report_share.py);
Android requires a `<provider>` inside `<application>`, which no buildozer option can write.
After p4a renders AndroidManifest.xml and before Gradle assembles the APK, this adds the
provider (authority: the package name + ".reports") and the one folder it may serve: the
app's cache `reports/`, where the PDF waits for at most an hour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AUTHORITY_SUFFIX = ".reports"  # tablet.report_share.PROVIDER_SUFFIX
PROVIDER = f"""    <provider android:name="androidx.core.content.FileProvider"
              android:authorities="${{applicationId}}{AUTHORITY_SUFFIX}"
              android:exported="false"
              android:grantUriPermissions="true">
        <meta-data android:name="android.support.FILE_PROVIDER_PATHS"
                   android:resource="@xml/report_paths" />
    </provider>
"""
# Android 11+ hides other apps from this one unless it says what it looks for: without this,
# the check for an installed PDF viewer would always say none.
QUERIES = """    <queries>
        <intent>
            <action android:name="android.intent.action.VIEW" />
            <data android:mimeType="application/pdf" />
        </intent>
    </queries>
"""
PATHS = """<?xml version="1.0" encoding="utf-8"?>
<paths>
    <cache-path name="reports" path="reports/" />
</paths>
"""


def add_report_provider(dist_dir: Path) -> None:
    """Write the provider and the PDF-viewer query into the manifest (once), and the paths."""
    main = dist_dir / "src" / "main"
    manifest = main / "AndroidManifest.xml"
    text = manifest.read_text("utf-8")
    if "androidx.core.content.FileProvider" not in text:
        head, tail = text.rsplit("</application>", 1)
        text = head + PROVIDER + "</application>" + tail
        head, tail = text.split("<application", 1)
        manifest.write_text(head + QUERIES + "<application" + tail, "utf-8")
    (main / "res" / "xml").mkdir(parents=True, exist_ok=True)
    (main / "res" / "xml" / "report_paths.xml").write_text(PATHS, "utf-8")


def after_apk_build(toolchain: Any) -> None:
    """p4a calls this once the manifest is rendered, before `before_apk_assemble` and Gradle."""
    add_report_provider(Path(toolchain._dist.dist_dir))
