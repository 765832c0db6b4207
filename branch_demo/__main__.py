"""`python -m branch_demo` (what `./run demo` runs)."""

from __future__ import annotations

import sys

from branch_demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
