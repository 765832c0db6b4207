"""Device drivers and simulators: bank cards (PC/SC), magstripe, resident ID readers, ticket printers."""

__all__: list[str] = []
