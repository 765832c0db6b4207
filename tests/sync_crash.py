"""`python -m tests.sync_crash MOMENT URL CACHE CA HQ_PUB HUB_KEY`: a pull killed -9 at MOMENT.

The crash is injected by wrapping the real functions of the pull and the apply in this process
only; production code carries no test hooks. MOMENT is one of `MOMENTS` or `none`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization

from sync import cache_apply
from sync.puller import pull

MOMENTS = (
    "download:piece",  # a chunk partly written to its .part file
    "snapshot:chunk",  # the first chunk inserted into the new database file
    "snapshot:built",  # the new file complete and synced, `current` not yet replaced
    "snapshot:switched",  # `current` replaced, the old file not yet removed
    "delta:chunk",  # the delta's first chunk applied inside the open transaction
    "delta:commit",  # every chunk and `meta` written, COMMIT not yet run
)


def die() -> None:
    """Stop like a power cut: SIGKILL, no cleanup."""
    os.kill(os.getpid(), signal.SIGKILL)


def after(target: Any, name: str, then: Callable[[], None]) -> None:
    """Replace `target.name` by a wrapper that runs the real function, then `then`."""
    real = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        then()
        return result

    setattr(target, name, wrapper)


def before(target: Any, name: str, then: Callable[[], None]) -> None:
    """Replace `target.name` by a wrapper that runs `then` first."""
    real = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        then()
        return real(*args, **kwargs)

    setattr(target, name, wrapper)


def _die_after_first_chunk_piece() -> None:
    real = requests.Response.iter_content

    def iter_content(self: requests.Response, *args: Any, **kwargs: Any) -> Iterator[Any]:
        pieces = real(self, *args, **kwargs)
        if "/chunks/" not in (self.url or ""):
            yield from pieces  # the pointer and manifests are read whole
            return
        yield next(pieces)
        die()  # the caller wrote the first piece and asks for the next

    requests.Response.iter_content = iter_content  # type: ignore[method-assign]


def inject(moment: str, fault: Callable[[], None] = die) -> None:
    """Arrange for `fault` to run at `moment` of the next pull in this process."""
    if moment == "download:piece":
        _die_after_first_chunk_piece()
    elif moment == "snapshot:chunk":
        after(cache_apply, "_insert_snapshot_chunk", fault)
    elif moment == "snapshot:built":
        before(cache_apply, "switch_current", fault)
    elif moment == "snapshot:switched":
        after(cache_apply, "switch_current", fault)
    elif moment == "delta:chunk":
        after(cache_apply, "_apply_delta_chunk", fault)
    elif moment == "delta:commit":
        after(cache_apply, "_write_meta", fault)
    elif moment != "none":
        raise SystemExit(f"unknown moment {moment!r}; one of {', '.join(MOMENTS)} or none")


def main(argv: list[str]) -> int:
    """Pull once with the crash armed."""
    moment, url, cache, ca, hq, hub = argv
    inject(moment)
    pull(
        url,
        Path(cache),
        hq_public=serialization.load_pem_public_key(Path(hq).read_bytes()),  # type: ignore[arg-type]
        hub_key=serialization.load_pem_private_key(Path(hub).read_bytes(), None),  # type: ignore[arg-type]
        branch_id="B001",
        ca_file=Path(ca),
        progress=False,
        backoff_s=0.01,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
