"""Run the branch-day bench (`python -m bench.branch_day --help`)."""

from __future__ import annotations

import sys

from branch_demo.day import main

if __name__ == "__main__":
    sys.exit(main())
