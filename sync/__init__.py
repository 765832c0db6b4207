"""HQ-to-branch data: synthetic HQ export, bundle format, publisher, puller, encrypted cache."""

__all__: list[str] = []
