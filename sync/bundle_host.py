"""HQ's bundle host as the puller sees it: https:// (CA pinned), http:// or file://.

Small files (pointer, manifests) are fetched whole; chunks are downloaded into a `.part` file
with HTTP Range resume. Both retry transient failures with the one back-off.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
from tqdm import tqdm

from branch_common.backoff import Backoff
from branch_common.cli import describe
from sync.errors import CacheError, ChunkError, DownloadError

__all__ = ["BundleHost", "pull_lock", "verified_file"]

log = logging.getLogger("sync.puller")
_PIECE = 64 << 10  # bytes per write: what a cut connection can lose before the next Range resume
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_SLACK = 1 << 20  # bytes past the expected size before a download is cut off


class _Retry(Exception):
    pass


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1][:12]


@contextlib.contextmanager
def pull_lock(folder: Path) -> Iterator[None]:
    """Hold FOLDER/pull.lock: one pull at a time into a cache or catalogue store."""
    fd = os.open(folder / "pull.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CacheError(f"another pull is already running on {folder}") from exc
        yield
    finally:
        os.close(fd)


def verified_file(path: Path, sha: str, size: int) -> bool:
    """True if `path` holds exactly `size` bytes whose SHA-256 is `sha`."""
    if not path.exists() or path.stat().st_size != size:
        return False
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest() == sha


class BundleHost:
    """HQ's bundle host: https:// (CA pinned), http:// or file://."""

    def __init__(
        self, url: str, ca_file: Path | None, timeout_s: float, retries: int, backoff_s: float
    ) -> None:
        self.base = url if url.endswith("/") else url + "/"
        self.scheme = urlsplit(self.base).scheme
        if self.scheme not in {"https", "http", "file"}:
            raise DownloadError(
                f"unsupported bundle URL scheme {self.scheme!r} (https:// or file://)"
            )
        self.session = requests.Session()
        self.session.trust_env = False  # never route HQ traffic through an ambient proxy
        self.verify: str | bool = str(ca_file) if ca_file else True
        self.timeout = timeout_s
        self.retries = retries
        self.backoff = Backoff(first=backoff_s, cap=30.0)
        self._moved = 0

    def _path(self, name: str) -> Path:
        return Path(unquote(urlsplit(urljoin(self.base, name)).path))

    def _sleep(self, attempt: int) -> None:
        if attempt < self.retries:
            time.sleep(self.backoff.delay(attempt))

    def get(self, name: str, limit: int = 16 << 20) -> bytes:
        """Fetch a small file (pointer, manifest) whole."""
        if self.scheme == "file":
            try:
                return self._path(name).read_bytes()[: limit + 1]
            except OSError as exc:
                raise DownloadError(f"cannot read {name}: {exc.strerror}") from exc
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                resp = self.session.get(
                    urljoin(self.base, name), timeout=self.timeout, verify=self.verify
                )
                if resp.status_code in _RETRY_STATUS:
                    raise _Retry(f"HTTP {resp.status_code}")  # noqa: TRY301
                if resp.status_code != 200:
                    raise DownloadError(f"{name}: HTTP {resp.status_code} from HQ's bundle host")
                return resp.content[: limit + 1]
            except requests.exceptions.SSLError as exc:
                raise DownloadError(
                    f"{name}: TLS verification against HQ's CA failed ({type(exc).__name__})"
                ) from exc
            except (requests.RequestException, _Retry) as exc:
                last = exc
                self._sleep(attempt)
        why = describe(last) if isinstance(last, OSError) else str(last)
        raise DownloadError(f"{name}: giving up after {self.retries + 1} attempts: {why}")

    def download(self, name: str, part: Path, size: int, bar: tqdm[Any]) -> int:
        """Download into `part`, resuming what is there; return bytes transferred."""
        if self.scheme == "file":
            return self._copy(name, part, bar)
        self._moved = 0
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            have = part.stat().st_size if part.exists() else 0
            if have > size:
                part.unlink()
                have = 0
            if have == size:
                return self._moved
            try:
                self._resume(name, part, have, size, bar)
            except requests.exceptions.SSLError as exc:
                raise DownloadError(
                    f"{name}: TLS verification against HQ's CA failed: {exc}"
                ) from exc
            except (requests.RequestException, _Retry) as exc:
                last = exc
                log.info("download of %s interrupted (%s); resuming", name, type(exc).__name__)
                self._sleep(attempt)
                continue
            got = part.stat().st_size
            if got == size:
                return self._moved
            if got > size:
                break
            last = ChunkError(f"short read ({got} of {size} bytes)")
            self._sleep(attempt)
        got = part.stat().st_size if part.exists() else 0
        raise ChunkError(
            f"chunk {_short(name)}…: got {got} of {size} bytes after "
            f"{self.retries + 1} attempts (truncated download; {last})"
        )

    def _copy(self, name: str, part: Path, bar: tqdm[Any]) -> int:
        try:
            with self._path(name).open("rb") as fin, part.open("wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
        except OSError as exc:
            raise DownloadError(f"cannot read {name}: {exc.strerror}") from exc
        got = part.stat().st_size
        bar.update(got)
        return got

    def _resume(self, name: str, part: Path, have: int, size: int, bar: tqdm[Any]) -> None:
        """One request for the bytes after `have`, appended to `part` (counted in `_moved`)."""
        headers = {"Range": f"bytes={have}-"} if have else {}
        moved = 0
        with self.session.get(
            urljoin(self.base, name),
            headers=headers,
            stream=True,
            timeout=self.timeout,
            verify=self.verify,
        ) as resp:
            if resp.status_code == 416:
                raise ChunkError(
                    f"chunk {_short(name)}…: the host has only {have} of its "
                    f"{size} bytes (truncated on the server)"
                )
            if resp.status_code in _RETRY_STATUS:
                raise _Retry(f"HTTP {resp.status_code}")
            if resp.status_code == 206 and have:
                mode = "ab"
            elif resp.status_code == 200:
                mode, have = "wb", 0
            else:
                raise DownloadError(f"{name}: HTTP {resp.status_code} from HQ's bundle host")
            with part.open(mode) as fh:
                for piece in resp.iter_content(_PIECE):
                    fh.write(piece)
                    moved += len(piece)
                    self._moved += len(piece)
                    bar.update(len(piece))
                    if have + moved > size + _SLACK:
                        break

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
