"""The house style, checked: short modules, short functions, no work-item codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "branch_common",
    "branch_hub",
    "branch_demo",
    "drivers",
    "sync",
    "kiosk",
    "tablet",
    "bench",
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Modules the integrator is shrinking right now, in the hub-centre redesign; each entry goes
# when its module fits. Nothing else may be long.
BEING_SHRUNK: tuple[str, ...] = ()

# Planning codes ("H" or "wt" plus a number, a worktree's branch name) mean nothing to a reader
# of the bank's code. Chip tags, station ids and source citations (S1, P1, E2) are not codes.
WORK_ITEM = re.compile(r"\bH\d{1,2}\b|\bwt\d+\b|\bwt-[a-z]+\b")


def _sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _being_shrunk(path: Path) -> bool:
    return _name(path).startswith(BEING_SHRUNK)


def _function_lengths(path: Path) -> list[tuple[str, int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        (node.name, node.lineno, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_the_walk_finds_every_package() -> None:
    found = {_name(path).split("/")[0] for path in _sources()}
    assert found == set(PACKAGES)


def test_modules_stay_under_400_lines() -> None:
    long = [
        f"{_name(path)}: {lines} lines"
        for path in _sources()
        if not _being_shrunk(path)
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, "split these by meaning:\n" + "\n".join(long)


def test_functions_stay_under_60_lines() -> None:
    long = [
        f"{_name(path)}:{line} {name}: {length} lines"
        for path in _sources()
        if not _being_shrunk(path)
        for name, line, length in _function_lengths(path)
        if length > MAX_FUNCTION_LINES
    ]
    assert not long, "extract well-named helpers from:\n" + "\n".join(long)


def test_the_allow_list_names_only_what_exists() -> None:
    for entry in BEING_SHRUNK:
        assert (ROOT / entry).exists(), f"{entry} is gone: drop it from BEING_SHRUNK"


def _texts() -> list[Path]:
    docs = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    return [*_sources(), *sorted((ROOT / "tests").rglob("*.py")), *docs]


def test_no_work_item_codes_in_code_or_docs() -> None:
    found = [
        f"{_name(path)}:{number}: {match.group(0)!r} in {line.strip()[:80]!r}"
        for path in _texts()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in WORK_ITEM.finditer(line)
    ]
    assert not found, "say it in the bank's language instead:\n" + "\n".join(found)


def test_the_checks_can_fail() -> None:
    # Built from parts, so that this file itself holds no code.
    assert WORK_ITEM.search("sessions end there (" + "H" + "6)")
    assert WORK_ITEM.search("merged from " + "wt" + "5")
    assert WORK_ITEM.search("see " + "wt" + "-sizes")
    for legitimate in ("tag 9F02", "station K1", "S1 and P1 in drivers.md", "E2 capture", "SHA256"):
        assert not WORK_ITEM.search(legitimate), legitimate
    source = "def f():\n" + "    x = 1\n" * 60 + "    return x\n"
    tree = ast.parse(source)
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    assert (function.end_lineno or 0) - function.lineno + 1 > MAX_FUNCTION_LINES
