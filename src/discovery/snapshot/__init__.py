"""In-memory snapshot of the store: numpy arrays and scipy.sparse indexes for the hot path."""

from .arrays import IdIndex, LogAt, Sizes, Snapshot
from .derived import (
    FOLLOW_REBUILD_SHARE,
    FOLLOWS_LAG,
    INTERACTIONS_LAG,
    TABLES,
    WEIGHTS_LAG,
    Derived,
    Grows,
    Lag,
)
from .load import cache_path, load_snapshot, refresh_snapshot

__all__ = [
    "FOLLOWS_LAG",
    "FOLLOW_REBUILD_SHARE",
    "INTERACTIONS_LAG",
    "TABLES",
    "WEIGHTS_LAG",
    "Derived",
    "Grows",
    "IdIndex",
    "Lag",
    "LogAt",
    "Sizes",
    "Snapshot",
    "cache_path",
    "load_snapshot",
    "refresh_snapshot",
]
