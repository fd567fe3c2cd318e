"""pancake-pos: the Python SDK for the webhooks of the Pancake POS API."""

from ._version import __version__

__all__ = ["__version__"]
