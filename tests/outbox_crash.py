"""`python tests/outbox_crash.py N ARGS...`: `python -m branch_hub.outbox ARGS...` that dies like
kill -9 right after HQ acknowledged its N-th event, before the outbox records it as sent.

The crash is injected by wrapping the real `Outbox.mark_sent` in this process only (the first
thing the sender does after HQ's 2xx), so the outbox carries no test hook for it.
"""

from __future__ import annotations

import os
import sys

from branch_hub import outbox


def arm(acks: int) -> None:
    """Exit with 137 (no cleanup, no commit) instead of recording the `acks`-th acknowledgement."""
    real = outbox.Outbox.mark_sent
    left = [acks]

    def mark_sent(self: outbox.Outbox, row: int) -> None:
        left[0] -= 1
        if left[0] == 0:
            os._exit(137)
        real(self, row)

    outbox.Outbox.mark_sent = mark_sent  # type: ignore[method-assign]


if __name__ == "__main__":
    arm(int(sys.argv[1]))
    sys.exit(outbox.main(sys.argv[2:]))
