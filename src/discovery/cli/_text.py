"""User data inside rich output: printed literally, never read as markup or terminal control.

rich reads ``[...]`` in every string it prints (table cells and titles included) as markup, so a
handle ``[/]`` raised :class:`rich.errors.MarkupError` and ``[red]boom[/red]`` printed red. Every
value that comes from the data goes through :func:`lit` before it joins a markup string.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from ..store.validate import display_safe

__all__ = ["lit"]


def lit(value: Any) -> str:
    """``value`` as text that rich prints exactly as written, control and bidi characters
    shown as visible escapes (:func:`~discovery.store.validate.display_safe`).

    >>> from rich.console import Console
    >>> c = Console(width=60, color_system=None)
    >>> c.print(f"by @{lit('[red]boom[/red]')} and @{lit('[/]')} @{lit('x' + chr(0x202e))}")
    by @[red]boom[/red] and @[/] @x\\u202e
    """
    return escape(display_safe(str(value)))
