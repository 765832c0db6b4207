"""The import rules of docs/architecture.md, checked: contracts, no cycles, HTTP only at the edge.

`lint-imports` checks the contracts in pyproject.toml (apps speak only the device client;
drivers, sync and the shared leaf are below everything; the domain never imports the API or
aiohttp). On top: no import cycle anywhere in `branch_hub` outside its HTTP layer, and every
module imports on its own in a fresh interpreter (what a cycle held together by import order
would break).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("branch_common", "branch_hub", "drivers", "sync", "kiosk", "tablet", "branch_demo")


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(iter(children), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_in_the_hub_outside_its_http_layer() -> None:
    graph = grimp.build_graph("branch_hub")
    outside = {m for m in graph.modules if not m.startswith("branch_hub.api")}
    edges = {m: graph.find_modules_directly_imported_by(m) & outside for m in outside}
    # A package's __init__ re-exporting its own modules is not a cycle between rooms.
    for module, imported in edges.items():
        edges[module] = {i for i in imported if not module.startswith(i + ".")}
    assert _cycles(edges) == []


def test_only_the_http_layer_and_the_device_client_import_aiohttp() -> None:
    graph = grimp.build_graph("branch_hub", include_external_packages=True)
    importers = {m for m in graph.find_modules_that_directly_import("aiohttp")}
    strays = {m for m in importers if not m.startswith(("branch_hub.api", "branch_hub.client"))}
    assert strays == set()


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


_FRESH = """
import importlib, sys
OURS = set(sys.argv[1].split(","))
failed = []
for name in sys.argv[2:]:
    for key in [k for k in sys.modules if k.split(".")[0] in OURS]:
        del sys.modules[key]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
"""


# Two interpreters share the modules (each still imports every one of its modules first): the
# check re-runs the project's imports hundreds of times, and the suite leaves the second core idle.
_INTERPRETERS = 2


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1")
    env.setdefault("KIVY_HOME", str(ROOT / ".venv" / "kivy-home"))
    modules = _modules()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _FRESH, ",".join(PACKAGES), *modules[share::_INTERPRETERS]],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for share in range(_INTERPRETERS)
    ]
    try:
        answers = [child.communicate(timeout=600) for child in children]
    finally:
        for child in children:
            child.kill()
    for child, (out, err) in zip(children, answers, strict=True):
        assert child.returncode == 0, err[-3000:]
        assert out.strip() == ""
