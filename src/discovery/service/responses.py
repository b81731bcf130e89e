"""The JSON response of every API endpoint: rendered by orjson.

A served feed page is ~10 KB of nested dicts; ``json.dumps`` spent about a quarter of a
millisecond on each, orjson a tenth of that. Output is the same JSON (UTF-8, compact, keys in
insertion order).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

__all__ = ["FastJSON"]


class FastJSON(JSONResponse):
    """``JSONResponse`` with orjson as the encoder."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
