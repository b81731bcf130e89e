"""Path parameters shared by the JSON API and the HTML pages, so both validate them alike.

A handle may hold any character the store accepts, ``/`` included: routes declare it as
``{handle:path}`` (greedy, so ``/v1/users/a/b/feed`` is the feed of ``a/b``) and every link
percent-encodes it with :func:`handle_url`. A post id outside ``0 <= id < 2**63`` is a 422 on
pages and API alike, before any look-up.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Path

from ..store.validate import HANDLE_MAX, ID_MAX

__all__ = ["HandlePath", "PostPath", "handle_url"]

HandlePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=HANDLE_MAX,
        description="Account handle ('@' optional); percent-encode '/', '?', '#' and '%'.",
        examples=["me"],
    ),
]
PostPath = Annotated[int, Path(ge=0, le=ID_MAX, description="Post id.", examples=[101])]


def handle_url(handle: str) -> str:
    """A handle as one percent-encoded path segment (``/`` too).

    >>> handle_url("ana/photos"), handle_url("[red]%")
    ('ana%2Fphotos', '%5Bred%5D%25')
    """
    return quote(handle, safe="")
