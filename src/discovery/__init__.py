"""discovery-engine: ranked, explained feeds for photo-sharing social networks.

The data path: source → :mod:`discovery.store` → :mod:`discovery.snapshot` →
candidates and ranking (:mod:`discovery.ranking`) → feeds (:class:`discovery.Engine`) → CLI, HTTP
API and web page.

The names below load on first use (PEP 562), so that ``import discovery`` costs only the
version: the ``discovery`` command installs its Ctrl-C handling before numpy and the engine load
(:mod:`discovery.cli._interrupt`), and ``from discovery import Engine`` works as before.
"""

from __future__ import annotations

import importlib

from ._version import __version__

# Not typing.TYPE_CHECKING: loading typing takes as long as the rest of this file (mypy knows
# the name either way).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .engine import Engine
    from .errors import DiscoveryError, InputError
    from .feeds import Feed, FeedItem, Interests
    from .seed import rng
    from .settings import Settings
    from .store import NotFound, Store, StoreError

__all__ = [
    "DiscoveryError",
    "Engine",
    "Feed",
    "FeedItem",
    "InputError",
    "Interests",
    "NotFound",
    "Settings",
    "Store",
    "StoreError",
    "__version__",
    "rng",
]

#: Where each public name lives.
_HOME = {
    "DiscoveryError": "errors",
    "Engine": "engine",
    "Feed": "feeds",
    "FeedItem": "feeds",
    "InputError": "errors",
    "Interests": "feeds",
    "NotFound": "store",
    "Settings": "settings",
    "Store": "store",
    "StoreError": "store",
    "rng": "seed",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value  # once: later lookups find it without this function
        return value
    if not name.startswith("_"):  # ``import discovery; discovery.snapshot`` keeps working
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
