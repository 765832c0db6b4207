"""Every command docs/operations.md shows in a shell block is run by a test.

Sections 1 and 10 are run line by line by their own tests (the package install test and the
restore drill); every other command names the test that runs it, which must hold the command's
words. What only a booted systemd or the package's users can do is listed with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "operations.md"

# Sections whose shell commands a test runs in order, as written (the test and what it reads).
RUN_AS_WRITTEN = {
    "## 1. ": ("test_deb_install.py", 'text.index("## 1. ")'),
    "## 10. ": ("test_backup_restore.py", '"## 10. Backup and restore"'),
}
# Other commands: the words that identify them, and the test holding those words.
RUN_BY = {
    ("branch-display", "setup"): ("test_display_tv.py", "branch-display setup"),
    ("drivers", "print-test"): ("test_printer_device.py", '"print-test"'),
    ("branch-sync", "audit-anchor"): ("test_audit_anchor.py", '"audit-anchor"'),
    ("branch-provision", "audit", "verify"): ("test_audit_anchor.py", '"--anchor"'),
    # Section 2, HQ's collector on PostgreSQL: every line, in order, on a throwaway server.
    ("runuser", "-u", "postgres"): ("test_collector_postgres.py", "= _guide_commands()"),
    ("branch-sync", "collector"): ("test_collector_postgres.py", "= _guide_commands()"),
    ("branch-sync", "reconcile"): ("test_collector_postgres.py", "= _guide_commands()"),
}
# Commands no test on an unbooted machine can run, and why.
NEEDS_THE_MACHINE = {
    "systemctl": "needs a booted systemd (the install test runs the unit's ExecStart instead)",
    "chown": "needs the package's system users (the install test runs section 1's chowns)",
}


def _sections() -> list[tuple[str, list[str]]]:
    text = GUIDE.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(## .*)$", text)
    out = []
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        commands = []
        for block in re.findall(r"```sh\n(.*?)```", body, flags=re.S):
            joined = re.sub(r"\\\n\s*", "", block)
            commands += [
                line.strip()
                for line in joined.splitlines()
                if line.strip() and not line.strip().startswith("#")
            ]
        out.append((heading, commands))
    return out


def _run_by(command: str) -> tuple[str, str] | None:
    words = command.replace("/opt/branch-edge/venv/bin/python -m ", "").split()
    for key, runner in RUN_BY.items():
        if tuple(words[: len(key)]) == key:
            return runner
    return None


def test_every_shell_command_of_the_guide_is_run_by_a_test() -> None:
    unrun = []
    for heading, commands in _sections():
        literal = next((v for k, v in RUN_AS_WRITTEN.items() if heading.startswith(k)), None)
        for command in commands:
            runner = literal or _run_by(command)
            if runner is None:
                if command.split()[0] not in NEEDS_THE_MACHINE:
                    unrun.append(f"{heading}: {command}")
                continue
            test_file, words = runner
            assert words in (ROOT / "tests" / test_file).read_text("utf-8"), (command, test_file)
    assert not unrun, "commands in docs/operations.md that no test runs:\n" + "\n".join(unrun)


def test_the_sections_run_as_written_still_exist() -> None:
    headings = [heading for heading, _ in _sections()]
    for prefix in RUN_AS_WRITTEN:
        assert any(h.startswith(prefix) for h in headings), prefix
