"""`python -m bench.branch_day`: the simulated branch day, which lives in `branch_demo.day`.

The day runner ships in the wheel with the demo (`./run demo --headless` uses it); this package
keeps the bench's name and command.
"""

from __future__ import annotations

from branch_demo.day import DayOptions, main, run_day

__all__ = ["DayOptions", "main", "run_day"]
