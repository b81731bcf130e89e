"""The store's exceptions (messages are user-facing: one line, no traceback)."""

from __future__ import annotations

from ..errors import DiscoveryError

__all__ = ["NotFound", "StoreError"]


class StoreError(DiscoveryError):
    """A problem with the database or the data written to it (message is user-facing)."""


class NotFound(StoreError):
    """An account, post or handle that the store does not hold."""
