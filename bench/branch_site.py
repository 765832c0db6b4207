"""The simulated branch the benches build, which lives in `branch_demo.site` (shipped with the demo)."""

from __future__ import annotations

from branch_demo.site import BranchSite, SiteOptions, Station, free_port

__all__ = ["BranchSite", "SiteOptions", "Station", "free_port"]
