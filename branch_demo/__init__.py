"""The simulated branch on one machine: `./run demo` (`python -m branch_demo`) and the branch day.

Builds HQ's synthetic customers and bundles, the branch CA and enrolled devices, pty device
simulators and the hub's TOML in one folder, then runs the real hub (`branch_hub.cli`) and
HQ's collector as subprocesses. Shipped in the wheel so the demo runs from an installed hub.
"""
