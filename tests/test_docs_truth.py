"""The docs stay true where a machine can tell: links and anchors resolve, the protocol reference
is the repository's own, every screenshot the gallery names is there, every command the docs
name exists, the configuration reference is the generated one, and every key file the operations
and security pages name is where a provisioned, built hub puts it."""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from branch_hub.config import load_config
from branch_hub.hub import build_hub
from branch_hub.provision.cli import main as provision

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "packaging" / "README.md", *(ROOT / "docs").glob("*.md")])
PROTOCOLS = ROOT / "docs" / "protocols.md"

_FENCE = re.compile(r"^\s*```.*?^\s*```", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text outside fenced blocks and code spans (where links live)."""
    return _SPAN.sub("", _FENCE.sub("", text))


def _code(text: str) -> list[str]:
    """Fenced blocks (line by line) and inline code spans."""
    blocks = [line for block in _FENCE.findall(text) for line in block.splitlines()]
    return blocks + _SPAN.findall(_FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return frozenset(out)


def _link_problem(doc: Path, target: str) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return None  # https:, mailto: ...
    path_part, _, anchor = target.partition("#")
    path = (doc.parent / path_part).resolve() if path_part else doc
    if not path.is_relative_to(ROOT):
        return f"{target}: points outside the repository"
    if not path.exists():
        return f"{target}: {path.relative_to(ROOT)} does not exist"
    if anchor and path.suffix == ".md" and anchor not in anchors(path):
        return f"{target}: no heading #{anchor} in {path.relative_to(ROOT)}"
    return None


def test_every_relative_link_and_anchor_resolves() -> None:
    problems = []
    for doc in DOCS:
        for target in _LINK.findall(_prose(doc.read_text(encoding="utf-8"))):
            problem = _link_problem(doc, target)
            if problem:
                problems.append(f"{doc.relative_to(ROOT)}: {problem}")
    assert problems == []


def test_slugs_follow_github() -> None:
    assert slug("Resident ID card reader (SAM_V)") == "resident-id-card-reader-sam_v"
    assert slug("ESC/POS real-time status") == "escpos-real-time-status"
    assert slug("5. Rotating keys") == "5-rotating-keys"
    assert (
        slug("The disk reserve and the `disk_low` alert")
        == "the-disk-reserve-and-the-disk_low-alert"
    )


def test_every_screenshot_the_gallery_names_is_there() -> None:
    shots = ROOT / "docs" / "screenshots"
    named = set(re.findall(r"`([a-z0-9-]+(?:@2048)?\.png)`", (shots / "README.md").read_text()))
    named -= {"name.png", "name@2048.png"}  # the naming rule's placeholders
    assert len(named) > 20
    assert sorted(n for n in named if not (shots / n).is_file()) == []


def test_protocols_md_is_only_ever_a_link_to_the_repositorys_own() -> None:
    problems = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in _LINK.findall(text):
            if "protocols.md" in target and (
                (doc.parent / target.partition("#")[0]).resolve() != PROTOCOLS
            ):
                problems.append(f"{doc.relative_to(ROOT)}: {target} is not docs/protocols.md")
        unlinked = _LINK.sub("", text)
        if "protocols.md" in unlinked:
            problems.append(f"{doc.relative_to(ROOT)}: names protocols.md without linking it")
    assert problems == []


def test_code_points_at_protocol_sections_that_exist() -> None:
    seen = 0
    problems = []
    for folder in ("drivers", "tests", "branch_hub", "sync", "kiosk", "tablet"):
        for source in (ROOT / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            for match in re.finditer(r"(docs/)?protocols\.md(#[\w-]+)?", text):
                seen += 1
                if source.name == Path(__file__).name:
                    continue
                if not match.group(1) or not match.group(2):
                    problems.append(f"{source.relative_to(ROOT)}: {match.group(0)} has no section")
                elif match.group(2)[1:] not in anchors(PROTOCOLS):
                    problems.append(f"{source.relative_to(ROOT)}: {match.group(0)}")
    assert problems == []
    assert seen > 20  # the drivers do cite it


CLIS = {
    "branch-provision": "branch_hub.provision.cli",
    "branch-sync": "sync.cli",
    "branch-hub": "branch_hub.cli",
}


# One interpreter prints every help the docs' commands need (each as `python -m module ... --help`
# would): an interpreter per help page spent most of this test starting the hub's imports again.
_HELPS = r"""
import contextlib, io, json, runpy, sys
pages = []
for module, *words in json.loads(sys.argv[1]):
    sys.argv = [module, *words, "--help"]
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as stop:
            code = stop.code or 0
    pages.append([code, out.getvalue()])
sys.__stdout__.write(json.dumps(pages))
"""


def _helps(asks: list[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[int, str]]:
    """(exit code, help text) of `python -m module *words --help` for each (module, *words)."""
    done = subprocess.run(
        [sys.executable, "-c", _HELPS, json.dumps(asks)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        ask: (code, text) for ask, (code, text) in zip(asks, json.loads(done.stdout), strict=True)
    }


def _subcommands(help_text: str) -> set[str]:
    """The names listed under 'positional arguments' (argparse sub-parsers)."""
    section = help_text.partition("positional arguments:")[2].partition("\n\n")[0]
    return set(re.findall(r"^ {4}([a-z][a-z0-9-]*)(?:\s|$)", section, re.MULTILINE))


def _named_commands() -> set[tuple[str, str, str]]:
    """(cli, word, next word) for each CLI name followed by a word in the docs' code."""
    found = set()
    pattern = re.compile(
        r"(?<![-\w/.])(?<!-u )(branch-provision|branch-sync|branch-hub)"  # not a unit name
        r"\s+(--?[a-z][a-z0-9-]*|[a-z][a-z0-9-]*)(?=\s|$)(?:\s+([a-z][a-z0-9-]*)(?=\s|$))?"
    )
    for doc in DOCS:
        for code in _code(doc.read_text(encoding="utf-8")):
            for cli, word, after in pattern.findall(code):
                found.add((cli, word, after))
    return found


def test_every_command_the_docs_name_exists() -> None:
    named = _named_commands()
    assert len(named) > 20
    asks: list[tuple[str, ...]] = sorted({(CLIS[cli],) for cli, _, _ in named})
    asks += sorted({(CLIS[cli], word) for cli, word, _ in named if not word.startswith("-")})
    pages = _helps(asks)

    def _help(*ask: str) -> str:
        code, text = pages[ask]
        assert code == 0, (ask, text)
        return text

    problems = []
    for cli, word, after in sorted(named):
        module = CLIS[cli]
        if word.startswith("-"):
            if not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", _help(module)):
                problems.append(f"{cli} has no option {word}")
            continue
        if word not in _subcommands(_help(module)):
            problems.append(f"{cli} has no command {word}")
            continue
        actions = _subcommands(_help(module, word))
        if actions and after and after not in actions:
            problems.append(f"{cli} {word} has no action {after}")
    assert problems == []


def test_configuration_md_is_what_branch_hub_generates() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "branch_hub.cli", "--config-reference"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


# Where the hub keeps each key file the docs name, relative to its data folder.
KEY_FILES = {
    "ca.crt": "pki/ca.crt",
    "ca.key": "pki/ca.key",
    "hub.crt": "pki/hub.crt",
    "hub.key": "pki/hub.key",
    "hub_sync.key": "cache/hub_sync.key",
    "hub_sync.pub": "cache/hub_sync.pub",
    "atrest.key": "atrest.key",
    "outcome_signing.key": "outcome_signing.key",
    "outcome_signing.pub": "outcome_signing.pub",
    "audit.key": "security/audit.key",
    "audit.head": "security/audit.head",
    "audit-head.key": "security/audit-head.key",
}
# Named in the docs, made only later (kept beside a file checked above).
LATER = {"audit.anchored": "security/audit.key"}  # once HQ acknowledged a head
# Named in the docs, not the hub's: the release team's, a device's, placeholders.
ELSEWHERE = {
    "release_signing.key",
    "release_signing.pub",
    "NEW.pub",
    "DEVICE.crt",
    "DEVICE.key",
    "device.crt.new",
    "device.key.new",
    "release.pub",  # the release key a tablet holds in its app folder
    "device.crt",  # a kiosk's or tablet's own pair, in its folder (its enrolment tests check it)
    "device.key",
    "hq.key",  # HQ's collector's TLS key, on HQ's machine
    "B001-outcome_signing.pub",  # a branch's outcome key as HQ's collector holds it
}
_KEY_NAME = re.compile(r"[\w./{},-]*\.(?:key|pub|crt|head|anchored)\b(?:\.new)?(?:/\.pub)?")
# How the docs spell the hub's data folder.
_DATA_PREFIXES = ("var/", "/var/lib/branch-edge/", "DATA_DIR/")


def _key_names(text: str) -> set[str]:
    names = set()
    for token in _KEY_NAME.findall(text):
        if token in (".pub", "...pub") or token.startswith("/etc/branch-kiosk/"):
            continue  # the HQ collector's argument, the kiosk's own key
        if token.endswith("/.pub"):
            base = token.removesuffix("/.pub")
            names.update({base, base.removesuffix(".key") + ".pub"})
        else:
            names.add(token)
    return names


@pytest.fixture(scope="module")
def built_branch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A branch folder made by `branch-provision init`, its hub built once with an HQ collector."""
    folder = tmp_path_factory.mktemp("docs-keys") / "branch"
    argv = ["init", "--dir", str(folder), "--branch-id", "B001", "--name", "朝阳支行"]
    argv += ["--region-code", "110105", "--host", "hub1", "--pin-stdin"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", io.StringIO("864213\n"))
        assert provision(argv) == 0
    config_path = folder / "hub.toml"
    config = load_config(config_path)
    hq = config.hq.model_copy(
        update={
            "collector_url": "https://hq.invalid/outcomes",
            "ca_file": str(folder / "var" / "pki" / "ca.crt"),
        }
    )
    config = config.model_copy(update={"hq": hq})

    async def build_once() -> None:
        hub = build_hub(config, config_path)
        await hub.close()

    asyncio.run(build_once())
    return folder


def test_every_key_file_the_docs_name_is_where_init_and_the_hub_put_it(built_branch: Path) -> None:
    data = built_branch / "var"
    names = set()
    for page in ("operations.md", "security.md"):
        names |= _key_names((ROOT / "docs" / page).read_text(encoding="utf-8"))
    assert {"hub_sync.pub", "audit-head.key", "atrest.key", "outcome_signing.key"} <= {
        Path(n).name for n in names
    }
    problems = []
    for name in sorted(names):
        prefix = next((p for p in _DATA_PREFIXES if name.startswith(p)), None)
        if prefix is not None:
            path = data / name.removeprefix(prefix)
        elif name in KEY_FILES:
            path = data / KEY_FILES[name]
        elif name in LATER:
            path = data / LATER[name]
        elif name in ELSEWHERE:
            continue
        else:
            problems.append(
                f"{name}: named in the docs, but this test does not know where it lives"
            )
            continue
        if not path.is_file():
            problems.append(f"{name}: no {path.relative_to(built_branch)}")
    assert problems == []
    for relative in KEY_FILES.values():
        assert (data / relative).is_file(), relative
