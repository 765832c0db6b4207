"""The apps' way to the one suitability rule (the apps import only the device client)."""

from branch_common.suitability import Suitability, Verdict, suitability

__all__ = ["Suitability", "Verdict", "suitability"]
