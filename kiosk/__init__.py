"""The customer's queue kiosk: a full-screen touchscreen app that talks only to the branch hub's API."""

__all__: list[str] = []
