"""discovery-engine: ranked, explained feeds for photo-sharing social networks.

The data path: source → :mod:`discovery.store` → :mod:`discovery.snapshot` →
candidates and ranking (:mod:`discovery.ranking`) → feeds (:class:`discovery.Engine`) → CLI, HTTP
API and web page.
"""

from ._version import __version__
from .seed import rng
from .store import Store, StoreError

__all__ = ["Store", "StoreError", "__version__", "rng"]
