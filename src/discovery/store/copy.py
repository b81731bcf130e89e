"""Move a whole store between backends (``discovery copy SRC DST``): SQLite → PostgreSQL and back.

Rows are streamed table by table from the source and bulk-inserted into the destination
(``COPY`` on PostgreSQL) in one destination transaction: a copy that fails or is killed leaves
the destination as it was. Internal ids are kept, so feeds are the same on both sides; every
copied row is stamped with the destination's new change counter (a snapshot of the destination
starts from scratch anyway), and the media folder travels with the rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import Store
from .errors import StoreError

__all__ = ["COPIED_META", "TABLES", "CopySummary", "copy_store"]

#: Tables in copy order, with their columns (``seq`` is re-stamped, not copied).
TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "handle", "display_name", "kind", "created_at", "seq", "ext_key"),
    "follows": ("src", "dst", "created_at", "seq"),
    "posts": (
        "id", "author", "taken_at", "caption", "media_type", "image", "like_count",
        "comment_count", "seq", "ext_key",
    ),
    "hashtags": ("id", "tag"),
    "post_hashtags": ("post", "hashtag", "original", "seq"),
    "interactions": ("id", "account", "post", "kind", "created_at", "value"),
    "events_seen": ("event_id", "account", "received_at"),
    "user_settings": ("account", "body"),
    "tokens": ("token_hash", "account", "admin", "created_at"),
    "sync_state": ("source", "name", "value", "updated_at"),
    "truth_users": ("account", "interests", "community"),
    "truth_posts": ("post", "topic", "quality", "clickbait"),
    "sync_records": ("source", "record", "account", "effect", "target"),
    "impression_log": (
        "id", "account", "post", "served_at", "surface", "position", "request", "experiment",
        "arm", "ranker", "score", "features",
    ),
    "experiments": ("name", "body", "created_at", "stopped_at"),
    "vectors": ("post", "model", "dim", "data", "created_at", "seq"),
    "artifacts": ("name", "version", "created_at", "meta", "data"),
    "candidate_lists": (
        "account", "kind", "size", "posts", "scores", "sources", "evidence", "counter",
        "computed_at", "ppr_accounts", "ppr",
    ),
}  # fmt: skip

# removed_* tombstones are not copied: the destination's snapshots start from its own rows.

#: Meta keys that describe the data (the destination keeps its own id, version and counter).
COPIED_META = ("now", "world", "dataset", "generator")


@dataclass
class CopySummary:
    """Rows copied per table."""

    rows: dict[str, int] = field(default_factory=dict)
    media_files: int = 0


def _restamp(rows: Iterator[tuple[Any, ...]], at: int, seq: int) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield (*row[:at], seq, *row[at + 1 :])


def copy_store(
    src: Store, dst: Store, *, progress: Callable[[str, int], None] | None = None
) -> CopySummary:
    """Copy every row of ``src`` into the empty store ``dst``.

    Raises
    ------
    StoreError
        ``dst`` already holds accounts or posts, or is ``src`` itself.
    """
    if src.url == dst.url:
        raise StoreError(f"{dst.url}: source and destination are the same store")
    if dst.count("accounts") or dst.count("posts"):
        raise StoreError(f"{dst.url}: not empty; copy needs an empty destination")
    summary = CopySummary()
    with src.read_consistently(), dst.transaction() as seq:
        for key in COPIED_META:
            value = src.get_meta(key)
            if value is not None:
                dst.set_meta(key, value)
        for table, columns in TABLES.items():
            order = ", ".join(columns[:2])
            rows = src._stream(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
            if "seq" in columns:
                rows = _restamp(rows, columns.index("seq"), seq)
            summary.rows[table] = dst._bulk_insert(table, columns, rows)
            if progress is not None:
                progress(table, summary.rows[table])
    dst._hashtag_ids = None
    summary.media_files = _copy_media(
        Path(str(src.path) + ".media"), Path(str(dst.path) + ".media")
    )
    return summary


def _copy_media(source: Path, target: Path) -> int:
    if not source.is_dir():
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, dirs_exist_ok=True)
    return sum(1 for p in target.rglob("*") if p.is_file())
