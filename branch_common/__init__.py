"""Leaf helpers shared by drivers, sync and the hub: identifier checks and the one back-off.

Nothing here imports another package of this project; everything else may import it.
"""
