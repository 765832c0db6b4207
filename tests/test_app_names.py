"""One name per app everywhere: the app store, bundles, the release command, updater, apps, units.

A device asks the hub for its app by name; a second spelling anywhere (the tablet once asked for
"branch-tablet" while the hub served "tablet") means no device ever updates.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from branch_hub.api.routes_apps import APP_FOR_KIND
from branch_hub.appstore.bundle import APPS
from branch_hub.client.__main__ import main as update_main
from branch_hub.vocabulary import AppName, DeviceKind

REPO = Path(__file__).resolve().parents[1]
CODE = ("branch_common", "branch_hub", "kiosk", "tablet", "packaging", "bench")
NAMES = {str(a) for a in AppName}
# Calls whose argument number N (or keyword `app`) is an app name.
APP_ARG = {"AppUpdater": 1, "app_offer": 0, "download_release": 0, "report_update": 0}
APP_VARIABLES = {"APP", "APP_NAME", "APPS"}


def _sources(ext: str) -> list[Path]:
    return [p for top in CODE for p in (REPO / top).rglob(f"*.{ext}") if p.is_file()]


def _literal_apps(tree: ast.AST) -> list[tuple[int, object]]:
    """(line, value) of every literal given where an app name goes."""
    found: list[tuple[int, object]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = [kw.value for kw in node.keywords if kw.arg == "app"]
            if name in APP_ARG and len(node.args) > APP_ARG[name]:
                args.append(node.args[APP_ARG[name]])
            found += [(a.lineno, a.value) for a in args if isinstance(a, ast.Constant)]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = {t.id for t in targets if isinstance(t, ast.Name)}
            if named & APP_VARIABLES and node.value is not None:
                values = getattr(node.value, "elts", [node.value])
                found += [(v.lineno, v.value) for v in values if isinstance(v, ast.Constant)]
    return found


def test_app_names_in_the_code_are_app_name_members() -> None:
    wrong = []
    for path in _sources("py"):
        for line, value in _literal_apps(ast.parse(path.read_text("utf-8"))):
            wrong.append(f"{path.relative_to(REPO)}:{line}: {value!r} (use AppName)")
    assert wrong == []


def test_every_component_takes_its_names_from_app_name() -> None:
    from kiosk.updates import APP as KIOSK_APP
    from tablet.updates import APP_NAME as TABLET_APP

    assert set(APPS) == NAMES
    assert KIOSK_APP is AppName.KIOSK
    assert TABLET_APP is AppName.TABLET
    assert APP_FOR_KIND == {
        DeviceKind.KIOSK: AppName.KIOSK,
        DeviceKind.TABLET: AppName.TABLET,
        DeviceKind.COUNTER: AppName.TABLET,
    }


def _choices(parser_main: object, argv: list[str]) -> set[str]:
    """The --app choices a command's parser offers (its usage error names them)."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.suppress(SystemExit):
        parser_main(argv)  # type: ignore[operator]
    match = re.search(r"choose from ([^)]*)\)", err.getvalue())
    assert match, err.getvalue()
    return {c.strip(" '") for c in match.group(1).split(",")}


def test_the_commands_offer_exactly_the_app_names() -> None:
    from branch_hub.provision.cli import main as provision

    release = ["release", "--app", "branch-tablet", "--version", "1", "--signing-key", "k",
               "--out", "o"]  # fmt: skip
    assert _choices(provision, release) == NAMES
    update = ["update", "--app", "branch-tablet", "--hub", "h", "--root", "r",
              "--release-key", "k", "--ca", "c", "--cert", "c", "--key", "k"]  # fmt: skip
    assert _choices(update_main, update) == NAMES


def test_units_scripts_and_docs_name_only_app_names() -> None:
    texts = _sources("service") + _sources("sh") + sorted((REPO / "docs").glob("*.md"))
    named = {
        (path.name, m.group(1))
        for path in texts
        for m in re.finditer(r"--app[ =]([A-Za-z][\w-]*)", path.read_text("utf-8"))
        if m.group(1) != "APP" and not m.group(1).isupper()
    }
    assert named, "the kiosk's update unit names its app"
    assert {app for _, app in named} <= NAMES, named
    script = (REPO / "packaging" / "scripts" / "build-release.sh").read_text("utf-8")
    assert "from branch_hub.vocabulary import AppName" in script
    assert not re.search(r"for APP in [a-z]", script), "the script lists apps by hand"
