"""The one exception family users see: a message that fits on one line, no traceback."""

from __future__ import annotations

__all__ = ["DiscoveryError", "InputError"]


class DiscoveryError(Exception):
    """Base of every error whose message is meant for the person running the engine."""


class InputError(DiscoveryError, ValueError):
    """Bad input from a file, a flag or a request (say where: file and line, field, value)."""
