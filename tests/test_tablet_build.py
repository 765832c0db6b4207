"""The tablet's Android build can work: its source tree and requirements are exactly right.

The APK itself needs the Android SDK and NDK, which these machines cannot download. What can go
wrong on our side is checked here: the build script assembles the source tree, every module in it
imports in a virtual environment that holds only the spec's requirements (copied from this
environment's installed files, so no network), the distributions loaded are exactly the spec's
list, and the icon, splash and CJK font the spec names are there.
"""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import sys
import venv
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "tablet" / "buildozer.spec"
# Built by python-for-android itself, not installed from a wheel (libzbar: the C library pyzbar
# loads; here the system's libzbar0 stands in for it).
P4A_BUILT = {"python3", "libzbar", "sqlite3"}

PROBE = r"""
import importlib, json, os, sys
from importlib.metadata import packages_distributions
os.environ["KIVY_NO_ARGS"] = "1"
os.environ["KIVY_NO_CONSOLELOG"] = "1"
src = sys.argv[1]
sys.path.insert(0, src)  # as the APK's main.py runs: its folder first, nothing else of ours
names = []
for folder, _, files in os.walk(src):
    for f in files:
        if f.endswith(".py") and f != "main.py":
            rel = os.path.relpath(os.path.join(folder, f), src)[:-3].replace(os.sep, ".")
            names.append(rel[: -len(".__init__")] if rel.endswith(".__init__") else rel)
for name in sorted(names):
    importlib.import_module(name)
importlib.import_module("tablet.qrscan").load_decoder()  # zbar, loaded when Scan is tapped
owners = packages_distributions()
loaded = sorted({d for m in list(sys.modules) for d in owners.get(m.split(".")[0], [])})
print(json.dumps({"modules": len(names), "distributions": loaded}))
"""


def _spec() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SPEC, encoding="utf-8")
    return parser["app"]


def _requirements() -> list[str]:
    names = [r.split("==")[0].strip() for r in _spec()["requirements"].split(",")]
    return [n for n in names if n not in P4A_BUILT]


def _copy_distribution(name: str, site: Path) -> None:
    """Copy one installed distribution's files (and its metadata) into another site-packages."""
    dist = distribution(name)
    for rel in dist.files or []:
        if str(rel).startswith(".."):  # scripts installed outside site-packages
            continue
        source = Path(str(dist.locate_file(rel)))
        if source.is_file():
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("apk") / "src"
    script = ROOT / "packaging" / "scripts" / "build-tablet-apk.sh"
    done = subprocess.run(
        ["bash", str(script), "--prepare", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_the_tree_holds_the_app_its_art_and_a_cjk_font(source_tree: Path) -> None:
    assert (source_tree / "main.py").read_text() == "from tablet.cli import main\nmain([])\n"
    for key in ("icon.filename", "presplash.filename"):
        path = Path(_spec()[key].replace("%(source.dir)s", str(source_tree)))
        assert path.is_file(), key
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fonts = list((source_tree / "tablet" / "data" / "fonts").glob("*.tt[cf]"))
    assert fonts, "no CJK font in the APK"
    include = set(_spec()["source.include_exts"].split(","))
    assert {p.suffix.lstrip(".") for p in fonts} <= {e.strip() for e in include}
    # Nothing of the hub's inside: the device client only.
    assert not (source_tree / "branch_hub" / "api").exists()
    assert not (source_tree / "branch_hub" / "security").exists()


def test_every_module_imports_with_only_the_spec_requirements(
    source_tree: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()
    )  # fmt: skip
    wanted = _requirements()
    for name in wanted:
        _copy_distribution(name, site)
    done = subprocess.run(
        [str(python), "-I", "-c", PROBE, str(source_tree)],
        cwd=source_tree,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] > 30
    loaded = {canonicalize_name(d) for d in report["distributions"]}
    assert loaded == {canonicalize_name(n) for n in wanted}, (
        f"loaded but not in the spec: {sorted(loaded - set(map(canonicalize_name, wanted)))}; "
        f"in the spec but never loaded: {sorted(set(map(canonicalize_name, wanted)) - loaded)}"
    )


def test_the_build_script_says_what_it_downloads() -> None:
    text = (ROOT / "packaging" / "scripts" / "build-tablet-apk.sh").read_text("utf-8")
    for thing in ("Android SDK", "NDK", "Gradle", "python-for-android"):
        assert thing in text
    assert sys.version_info >= (3, 11)


def test_the_apk_builds_sqlite_with_fts5() -> None:
    """The catalogue index needs FTS5: the spec takes SQLite from the local recipe that enables it."""
    spec = _spec()
    assert "sqlite3" in [r.strip() for r in spec["requirements"].split(",")]
    recipe = SPEC.parent / spec["p4a.local_recipes"] / "sqlite3" / "__init__.py"
    text = recipe.read_text("utf-8")
    assert '"--enable-fts5"' in text
    assert '"-DSQLITE_ENABLE_FTS5"' in text
    assert "FTS5_CONFIGURE," in text  # passed to configure, not only defined
