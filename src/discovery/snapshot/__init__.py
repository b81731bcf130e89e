"""In-memory snapshot of the store: numpy arrays and scipy.sparse indexes for the hot path."""

from .arrays import IdIndex, Snapshot
from .load import cache_path, load_snapshot, refresh_snapshot

__all__ = ["IdIndex", "Snapshot", "cache_path", "load_snapshot", "refresh_snapshot"]
