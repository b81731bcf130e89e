"""Storage: the domain model and the embedded database (SQLite now, PostgreSQL later)."""

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
from .schema import SCHEMA_VERSION
from .sqlite import NotFound, Store, StoreError

__all__ = [
    "ACCOUNT_KINDS",
    "INTERACTION_KINDS",
    "KIND_CODE",
    "MEDIA_TYPES",
    "POSITIVE_KINDS",
    "SCHEMA_VERSION",
    "NotFound",
    "Store",
    "StoreError",
    "extract_hashtags",
    "from_iso",
    "normalize_hashtag",
    "to_iso",
]
