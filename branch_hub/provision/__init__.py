"""Provisioning for branch IT: branch CA, hub keys, device enrolment, staff accounts."""

__all__: list[str] = []
