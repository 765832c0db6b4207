"""The exception tree of `sync`: every bad key file, export line, bundle or download ends here.

SyncError
├── KeyFileError          a key file is missing, unreadable or of the wrong type
├── ExportError           HQ's export is malformed (carries the line number)
├── PublishError          the publisher cannot write a consistent bundle
├── BundleError           a received bundle is not acceptable
│   ├── SignatureError    a manifest or pointer is not signed by HQ's key
│   ├── WrongBranchError  the bundle is for another branch or another hub key
│   ├── RollbackError     the bundle's sequence is older than the cache's
│   ├── SequenceGapError  a delta's base is not the cache's sequence
│   ├── ChunkError        a chunk's hash, size or layout is wrong (tampered or truncated)
│   └── CatalogueError    a catalogue item or file is malformed (bad field, not an image, ...)
├── DownloadError         HQ's host cannot be reached or keeps failing
└── CacheError            the local cache cannot be opened or applied (disk full, ...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from branch_common.signed_catalogue import FormatError

__all__ = [
    "BundleError",
    "CacheError",
    "CatalogueError",
    "ChunkError",
    "DownloadError",
    "ExportError",
    "KeyFileError",
    "PublishError",
    "RollbackError",
    "SequenceGapError",
    "SignatureError",
    "SyncError",
    "WrongBranchError",
    "format_errors",
]


class SyncError(Exception):
    """Base of every error raised by `sync`."""


class KeyFileError(SyncError):
    """A key file is missing, unreadable or holds the wrong kind of key."""


class ExportError(SyncError):
    """A line of HQ's export is malformed."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"export line {line}: {reason}")
        self.line = line
        self.reason = reason


class PublishError(SyncError):
    """The publisher cannot produce a consistent bundle."""


class BundleError(SyncError):
    """A received bundle is not acceptable."""


class SignatureError(BundleError):
    """A manifest or pointer does not carry a valid signature by HQ's key."""


class WrongBranchError(BundleError):
    """The bundle is addressed to another branch or another hub key."""


class RollbackError(BundleError):
    """The bundle is older than what the cache already holds."""


class SequenceGapError(BundleError):
    """A delta does not start at the cache's sequence."""


class ChunkError(BundleError):
    """A chunk does not match its manifest entry (tampered, truncated or malformed)."""


class CatalogueError(BundleError):
    """A product, an article, an image or a leaflet of the catalogue is not acceptable."""


class DownloadError(SyncError):
    """HQ's bundle host cannot be reached or keeps failing."""


class CacheError(SyncError):
    """The local cache cannot be opened, read or updated."""


@contextmanager
def format_errors() -> Iterator[None]:
    """Raise the shared format checks' refusals as this package's bundle errors."""
    try:
        yield
    except FormatError as exc:
        kinds: dict[str, type[BundleError]] = {
            "signature": SignatureError,
            "bundle": BundleError,
            "chunk": ChunkError,
            "catalogue": CatalogueError,
        }
        raise kinds[exc.kind](str(exc)) from exc
