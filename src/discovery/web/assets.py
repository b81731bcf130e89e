"""Where the pages' files live: templates, our static JS/CSS, and the npm-installed graph library.

The graph library (cytoscape) is installed from npm by ``make install`` (``npm ci`` in
``src/discovery/web``) into ``src/discovery/web/node_modules``; it is never copied into the
repository and never loaded from a CDN. ``$DISCOVERY_NODE_MODULES`` points elsewhere (for an
installed wheel, say).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError

__all__ = [
    "GRAPH_LIBRARY",
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "WEB_DIR",
    "graph_library",
    "graph_library_path",
    "missing_library_message",
]

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
#: The file served at ``/static/vendor/cytoscape.min.js``, relative to ``node_modules``.
GRAPH_LIBRARY = Path("cytoscape") / "dist" / "cytoscape.min.js"


def _node_modules() -> Path:
    env = os.environ.get("DISCOVERY_NODE_MODULES")
    return Path(env) if env else WEB_DIR / "node_modules"


def graph_library_path() -> Path | None:
    """The installed cytoscape build, or ``None`` when ``npm ci`` has not run."""
    path = _node_modules() / GRAPH_LIBRARY
    return path if path.is_file() else None


def missing_library_message() -> str:
    return (
        f"the graph library is not installed ({_node_modules() / GRAPH_LIBRARY} is missing); "
        "run `make demo` or `make install` (they run `npm ci` in src/discovery/web)"
    )


def graph_library() -> str:
    """The library's JavaScript source (raises :class:`InputError` when it is missing)."""
    path = graph_library_path()
    if path is None:
        raise InputError(missing_library_message())
    return path.read_text(encoding="utf-8")
