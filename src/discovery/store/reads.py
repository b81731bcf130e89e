"""Reading rows: look-ups by handle and id, display details, ground truth, and the snapshot's
columnar catch-up read :meth:`ReadsMixin.changes_since`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .core import StoreCore
from .errors import NotFound, StoreError
from .model import ACCOUNT_KINDS, MEDIA_TYPES
from .records import (
    ACCOUNT_COLUMNS,
    FOLLOW_COLUMNS,
    INTERACTION_COLUMNS,
    POST_COLUMNS,
    AccountInfo,
    Changes,
    PostInfo,
)

__all__ = ["COUNTED_TABLES", "ReadsMixin"]

#: Tables :meth:`ReadsMixin.count` answers for.
COUNTED_TABLES = (
    *("accounts", "follows", "posts", "hashtags", "post_hashtags", "interactions"),
    *("sync_records", "impression_log", "experiments", "vectors", "artifacts", "candidate_lists"),
)


#: The accounts a snapshot reads: all of them (in id order), or those changed since a counter
#: (through the ``accounts_seq`` index; the caller sorts the few rows).
ACCOUNTS_ALL = "SELECT id, kind, handle FROM accounts ORDER BY id"
ACCOUNTS_SINCE = "SELECT id, kind, handle FROM accounts WHERE seq > ?"


class ReadsMixin(StoreCore):
    """Typed reads; none of them writes."""

    def _columns(self, sql: str, dtype: list[tuple[str, str]], params: Sequence[Any]) -> np.ndarray:
        """A query's rows as one structured array, streamed (no Python list of all rows).

        A value no column can hold (text in a count, 10^30 likes, an id past int64) can only
        come from a database this package did not write; it is a one-line error that names
        the way out, not a traceback."""
        try:
            return np.fromiter(self._stream(sql, params), dtype=np.dtype(dtype))
        except (ValueError, OverflowError, TypeError) as exc:
            table = sql.split(" FROM ", 1)[1].split()[0]
            raise StoreError(
                f"{self.url}: a row of {table} cannot be loaded ({exc}); run `discovery doctor`"
                " to find it and `discovery doctor --fix` to quarantine it"
            ) from None

    def changes_since(self, counter: int, *, interaction_id: int = 0, tag_id: int = 0) -> Changes:
        """Everything written after change counter ``counter`` (-1: everything), read in one
        consistent transaction.

        ``interaction_id`` and ``tag_id`` are the caller's high-water marks: interactions and
        hashtags are append-only and read by id, not by change stamp.
        """
        with self.read_consistently():
            full = counter < 0
            # incremental: no ORDER BY in SQL — with it SQLite scans the whole table in id
            # order instead of using accounts_seq (123 ms a catch-up on the 1M-account world)
            accounts = (
                self._fetch(ACCOUNTS_ALL)
                if full
                else sorted(self._fetch(ACCOUNTS_SINCE, (counter,)), key=lambda r: int(r[0]))
            )
            clock = self.clock()
            meta_now = self.get_meta("now")
            return Changes(
                counter=self.change_counter,
                now=int(meta_now) if clock == "fixed" and meta_now else None,
                clock=clock,
                accounts=np.array(
                    [(int(r[0]), int(r[1])) for r in accounts], dtype=np.dtype(ACCOUNT_COLUMNS)
                ),
                account_handles=[str(r[2]) for r in accounts],
                removed_follows=np.zeros(0, np.dtype(FOLLOW_COLUMNS[:2]))
                if full
                else self._columns(
                    "SELECT src, dst FROM removed_follows WHERE seq > ?",
                    FOLLOW_COLUMNS[:2],
                    (counter,),
                ),
                # no ORDER BY: it would make SQLite scan the table instead of the seq index
                follows=self._columns(
                    "SELECT src, dst, created_at FROM follows WHERE seq > ?",
                    FOLLOW_COLUMNS,
                    (counter,),
                ),
                posts=self._columns(
                    "SELECT id, COALESCE(author, -1), taken_at, like_count, comment_count,"
                    " media_type FROM posts WHERE seq > ?",
                    POST_COLUMNS,
                    (counter,),
                ),
                hashtags=[
                    (int(i), str(t))
                    for i, t in self._fetch(
                        "SELECT id, tag FROM hashtags WHERE id > ? ORDER BY id", (tag_id,)
                    )
                ],
                post_hashtags=self._columns(
                    "SELECT post, hashtag FROM post_hashtags WHERE seq > ?",
                    [("p", "i8"), ("h", "i8")],
                    (counter,),
                ),
                interactions=self._columns(
                    "SELECT id, account, post, kind, created_at, COALESCE(value, 1.0)"
                    " FROM interactions WHERE id > ? ORDER BY id",
                    INTERACTION_COLUMNS,
                    (interaction_id,),
                ),
                removed_posts=np.zeros(0, np.int64)
                if full
                else self._columns(
                    "SELECT id FROM removed_posts WHERE seq > ?", [("id", "i8")], (counter,)
                )["id"],
                removed_interactions=self._columns(
                    "SELECT account, post, kind FROM removed_interactions WHERE seq > ?",
                    [("u", "i8"), ("p", "i8"), ("k", "i1")],
                    (max(counter, 0),),
                )
                if not full
                else np.zeros(0, np.dtype([("u", "i8"), ("p", "i8"), ("k", "i1")])),
                removed_post_hashtags=self._columns(
                    "SELECT post, hashtag FROM removed_post_hashtags WHERE seq > ?",
                    [("p", "i8"), ("h", "i8")],
                    (max(counter, 0),),
                )
                if not full
                else np.zeros(0, np.dtype([("p", "i8"), ("h", "i8")])),
            )

    # --------------------------------------------------------------- look-ups
    def account_id(self, handle: str) -> int:
        """Id of ``handle`` (a leading '@' is ignored); :class:`NotFound` if there is none."""
        rows = self._fetch("SELECT id FROM accounts WHERE handle = ?", (handle.removeprefix("@"),))
        if not rows:
            raise NotFound(f"no account with handle {handle!r}")
        return int(rows[0][0])

    def account_ids(self, handles: Iterable[str]) -> dict[str, int]:
        """Account id of each known handle (unknown handles are absent)."""
        sql = "SELECT handle, id FROM accounts WHERE handle IN ({})"
        return {str(h): int(i) for h, i in self._fetch_in(sql, handles)}

    def hashtag_names(self) -> list[str]:
        """Every hashtag the store holds, in id order (``discovery embed --text`` embeds their
        names; one small table, not a snapshot)."""
        return [str(r[0]) for r in self._fetch("SELECT tag FROM hashtags ORDER BY id")]

    def existing_posts(self, post_ids: Iterable[int]) -> set[int]:
        """Which of ``post_ids`` the store holds."""
        sql = "SELECT id FROM posts WHERE id IN ({})"
        return {int(r[0]) for r in self._fetch_in(sql, (int(p) for p in post_ids))}

    def count(self, table: str) -> int:
        """Rows in one of :data:`COUNTED_TABLES`."""
        if table not in COUNTED_TABLES:
            raise StoreError(f"unknown table {table!r}")
        return int(self._fetch(f"SELECT COUNT(*) FROM {table}")[0][0])

    def post_counts(self, post_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """``post → (like_count, comment_count)`` as stored now."""
        rows = self._fetch_in(
            "SELECT id, like_count, comment_count FROM posts WHERE id IN ({})",
            (int(p) for p in post_ids),
        )
        return {int(i): (int(n), int(c)) for i, n, c in rows}

    def post_info(self, post_ids: Sequence[int]) -> dict[int, PostInfo]:
        """Caption, image and media type of a few posts (for display; not on the ranking path)."""
        rows = self._fetch_in(
            "SELECT id, ext_key, caption, image, media_type FROM posts WHERE id IN ({})",
            (int(p) for p in post_ids),
        )
        return {
            int(i): PostInfo(int(i), str(k), str(c), img, MEDIA_TYPES[int(m)])
            for i, k, c, img, m in rows
        }

    def account_info(self, account_ids: Sequence[int]) -> dict[int, AccountInfo]:
        """Handle, display name, kind and creation time of a few accounts."""
        rows = self._fetch_in(
            "SELECT id, ext_key, handle, display_name, kind, created_at FROM accounts"
            " WHERE id IN ({})",
            (int(a) for a in account_ids),
        )
        return {
            int(i): AccountInfo(int(i), str(k), str(h), str(d), ACCOUNT_KINDS[int(kd)], int(t))
            for i, k, h, d, kd, t in rows
        }

    def post_details(self, post_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """:meth:`post_info` as the dicts the display layer reads."""
        return {
            i: {"caption": p.caption, "image": p.image, "media_type": p.media_type}
            for i, p in self.post_info(post_ids).items()
        }

    def account_details(self, account_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """:meth:`account_info` as the dicts the display layer reads."""
        return {
            i: {
                "handle": a.handle,
                "display_name": a.display_name,
                "kind": a.kind,
                "created_at": a.created_at,
            }
            for i, a in self.account_info(account_ids).items()
        }

    # ----------------------------------------------------------- ground truth
    def truth_users(self) -> list[tuple[int, list[float], int]]:
        """``(account, interests, community)`` of a synthetic world, by account."""
        rows = self._fetch("SELECT account, interests, community FROM truth_users ORDER BY account")
        return [(int(a), list(json.loads(i)), int(c)) for a, i, c in rows]

    def truth_posts(self) -> np.ndarray:
        """Posts of a synthetic world with their ground truth, by post id: a structured array of
        ``(post, author, taken_at, topic, quality, clickbait)``."""
        return self._columns(
            "SELECT p.id, COALESCE(p.author, -1), p.taken_at, t.topic, t.quality, t.clickbait"
            " FROM posts p JOIN truth_posts t ON t.post = p.id ORDER BY p.id",
            [
                ("post", "i8"),
                ("author", "i8"),
                ("taken_at", "i8"),
                ("topic", "i2"),
                ("quality", "f8"),
                ("clickbait", "i1"),
            ],
            (),
        )

    def post_topic(self, post_id: int) -> int | None:
        """The ground-truth topic of one post (None: no truth for it)."""
        rows = self._fetch("SELECT topic FROM truth_posts WHERE post = ?", (int(post_id),))
        return int(rows[0][0]) if rows else None

    def follow_edges(self) -> np.ndarray:
        """Every follow edge as an ``(n, 2)`` int64 array of ``(src, dst)``."""
        edges = self._columns("SELECT src, dst FROM follows", FOLLOW_COLUMNS[:2], ())
        return (
            np.stack([edges["s"], edges["d"]], axis=1) if len(edges) else np.zeros((0, 2), np.int64)
        )
