"""What every branch-edge command shares: `--version`, exit codes and one-line errors.

Exit codes: 0 done, 1 failed (a bad file, an unreachable host, a refused request), 2 the command
line itself is wrong (argparse's own code). Expected failures print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandFailed",
    "CommandUsage",
    "add_version",
    "describe",
    "package_version",
    "run_command",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandFailed(Exception):
    """An expected failure, told to the person in one line (exit 1)."""


class CommandUsage(Exception):
    """An argument value that parsing let through but the command cannot take (exit 2)."""


def package_version() -> str:
    """The installed branch-edge version."""
    try:
        return version("branch-edge")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def add_version(parser: argparse.ArgumentParser) -> None:
    """Give a command `--version` (prints `PROG VERSION`, exit 0)."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")


def _network_reason(exc: OSError) -> str | None:
    """A short reason for a failed HTTP request (requests/urllib3), without their internals."""
    if type(exc).__module__.split(".")[0] not in {"requests", "urllib3"}:
        return None
    request = getattr(exc, "request", None)
    where = getattr(request, "url", None) or "the server"
    text = str(exc)
    for words, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host name"),
        ("timed out", "timed out"),
        ("CERTIFICATE_VERIFY_FAILED", "its certificate is not the pinned CA's"),
    ):
        if words in text:
            return f"cannot reach {where}: {reason}"
    return f"cannot reach {where}: {type(exc).__name__}"


def describe(exc: OSError) -> str:
    """One line for a file or network error."""
    network = _network_reason(exc)
    if network is not None:
        return network
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file or folder"
    if isinstance(exc, PermissionError) and exc.filename:
        return f"{exc.filename}: permission denied"
    if exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return exc.strerror or str(exc) or type(exc).__name__


def run_command(
    prog: str,
    body: Callable[[], int],
    expected: tuple[type[Exception], ...] = (),
    usage: tuple[type[Exception], ...] = (),
) -> int:
    """Run a command's body; expected failures become one line on stderr and exit 1 (2 for a
    wrong argument value found after parsing)."""
    failures: tuple[type[Exception], ...] = (CommandFailed, *expected)
    wrong_usage: tuple[type[Exception], ...] = (CommandUsage, *usage)
    try:
        return body()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except wrong_usage as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except failures as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"{prog}: error: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILED
