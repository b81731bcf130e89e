"""discovery-engine: ranked, explained feeds for photo-sharing social networks.

The data path: source → :mod:`discovery.store` → :mod:`discovery.snapshot` →
candidates and ranking (:mod:`discovery.ranking`) → feeds (:class:`discovery.Engine`) → CLI, HTTP
API and web page.
"""

from ._version import __version__
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
