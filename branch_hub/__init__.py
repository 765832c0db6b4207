"""The branch hub: the service at the centre of a bank branch's lobby."""

__version__ = "0.1.0"
__all__ = ["__version__"]
