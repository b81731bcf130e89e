"""Storage: the domain model and one store interface over two backends (SQLite, PostgreSQL).

Everything that touches SQL lives in this package. The rest of the engine opens a store with
``Store.open(url)`` and calls its typed methods (see :mod:`.base`).
"""

from .base import Store
from .errors import NotFound, ReadOnly, StoreError, is_read_only
from .model import (
    ACCOUNT_KINDS,
    INTERACTION_KINDS,
    KIND_CODE,
    MEDIA_TYPES,
    POSITIVE_KINDS,
    extract_hashtags,
    from_iso,
    normalize_hashtag,
    to_iso,
)
from .records import AccountInfo, AccountRecord, Changes, PostInfo, PostRecord
from .schema import SCHEMA_VERSION
from .url import StoreURL, parse_store_url

__all__ = [
    "ACCOUNT_KINDS",
    "INTERACTION_KINDS",
    "KIND_CODE",
    "MEDIA_TYPES",
    "POSITIVE_KINDS",
    "SCHEMA_VERSION",
    "AccountInfo",
    "AccountRecord",
    "Changes",
    "NotFound",
    "PostInfo",
    "PostRecord",
    "ReadOnly",
    "Store",
    "StoreError",
    "StoreURL",
    "extract_hashtags",
    "from_iso",
    "is_read_only",
    "normalize_hashtag",
    "parse_store_url",
    "to_iso",
]
