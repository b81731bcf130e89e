"""Writing rows: accounts, follows, posts, hashtags, interactions, ground truth.

Every value is checked with :mod:`.validate` before it reaches SQL, so no backend ever holds a
row the engine cannot load (an id past int64, a count past int32, a time no calendar can
print, NUL bytes or lone surrogates in text, a handle no route can reach). Importers check the
same rules earlier, to say ``file:line``; these checks are the last line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from . import validate as v
from .core import StoreCore
from .errors import StoreError
from .model import ACCOUNT_KINDS, KIND_CODE, MEDIA_TYPES, extract_hashtags, normalize_hashtag
from .records import AccountRecord, PostRecord

__all__ = ["WritesMixin"]

_CHUNK = 50_000
_LIKE, _COMMENT = KIND_CODE["like"], KIND_CODE["comment"]


def _code(value: Any, names: Sequence[str], what: str) -> int:
    if isinstance(value, str):
        try:
            return names.index(value)
        except ValueError:
            raise StoreError(
                f"unknown {what} {v.brief(value)}; expected one of {', '.join(names)}"
            ) from None
    code = int(value)
    if not 0 <= code < len(names):
        raise StoreError(f"unknown {what} code {code}")
    return code


def _time(value: Any, what: str) -> int:
    """A time the engine can show: any Unix second from year 1 to 9999 (the importer's window
    against its own clock is stricter; this is what a store may hold at all)."""
    t = v._integer(value, what)
    if not v.TIME_MIN <= t <= v.TIME_MAX:
        raise v.BadValue(what, f"{v.brief(t)} is outside years 1..9999")
    return t


@contextlib.contextmanager
def _rows_named(table: str) -> Iterator[None]:
    """Turn a value error into a store error that names the table."""
    try:
        yield
    except v.BadValue as exc:
        raise StoreError(f"{table}: {exc}") from None


def _account_row(key: str, i: Any, h: Any, d: Any, k: Any, t: Any, seq: int) -> tuple[Any, ...]:
    return (
        v.check_id(i, "id"),
        v.check_handle(h),
        v.check_text(str(d or ""), "display_name", max_chars=v.DISPLAY_NAME_MAX),
        _code(k, ACCOUNT_KINDS, "account kind"),
        _time(t, "created_at"),
        seq,
        v.check_text(key, "key", max_chars=v.IMAGE_MAX),
    )


_ACCOUNT_COLUMNS = ("id", "handle", "display_name", "kind", "created_at", "seq", "ext_key")


def _taken(row: tuple[Any, ...]) -> str:
    return f"account {row[0]}: handle {v.brief(row[1])} or key {v.brief(row[6])} is already taken"


class WritesMixin(StoreCore):
    """Row writers; every method must run inside :meth:`transaction`."""

    # --------------------------------------------------------------- helpers
    def _existing(self, table: str, column: str, values: Sequence[Any]) -> dict[Any, int]:
        """``value → id`` for the given ``column`` values already stored in ``table``."""
        if not values:
            return {}
        if column == "id":
            top = self._fetch(f"SELECT MAX(id) FROM {table}")[0][0]
            if top is None or min(values) > top:
                return {}  # a batch of new ids (a generator's, a copy's): no look-up at all
        sql = f"SELECT {column}, id FROM {table} WHERE {column} IN ({{}})"
        return {r[0]: int(r[1]) for r in self._fetch_in(sql, values)}

    def _insert_new(
        self, table: str, sql: str, rows: list[tuple[Any, ...]], clash: Callable[[Any], str]
    ) -> int:
        """Run ``sql`` for rows that must not clash; a unique clash (a handle or key held by
        another row) is a :class:`StoreError` naming the row (``clash(row)``), and the
        transaction stays usable until the caller lets the error end it."""
        try:
            with self._savepoint():
                return self._many(sql, rows)
        except self._integrity_errors:
            pass
        for row in rows:  # rare path: find the row that clashed, for a message that names it
            try:
                with self._savepoint():
                    self._many(sql, [row])
            except self._integrity_errors:
                raise StoreError(f"{table}: {clash(row)}") from None
        raise StoreError(f"{table}: duplicate values in one batch")

    def _insert_all(
        self,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        clash: Callable[[Any], str],
    ) -> int:
        """Bulk-insert rows with new ids (``COPY`` on PostgreSQL); a row that a unique handle or
        key kept out is a :class:`StoreError` naming it, and the caller's transaction ends."""
        added = self._bulk_insert(table, columns, rows)
        if added < len(rows):
            held = self._existing(table, "id", [r[0] for r in rows])
            lost = next(r for r in rows if r[0] not in held)
            raise StoreError(f"{table}: {clash(lost)}")
        return added

    def _next_id(self, table: str) -> int:
        return int(self._fetch(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0][0]) + 1

    # -------------------------------------------------------------- accounts
    def add_accounts(self, rows: Iterable[tuple[Any, ...]], *, key_prefix: str = "id") -> int:
        """Insert ``(id, handle, display_name, kind, created_at)`` rows; existing ids are kept.

        For loaders that own their ids (the world generator, tests); each row's external key
        is ``f"{key_prefix}:{id}"``. ``kind`` is ``"person"``/``"brand"`` or its code. Returns
        how many rows were new.
        """
        seq = self._need_tx()
        added = 0
        batch: list[tuple[Any, ...]] = []

        def flush() -> int:
            held = self._existing("accounts", "id", [r[0] for r in batch])
            fresh: dict[int, tuple[Any, ...]] = {}
            for row in batch:  # the first row of a repeated id wins, as with stored ids
                if row[0] not in held:
                    fresh.setdefault(row[0], row)
            batch.clear()
            return self._insert_all("accounts", _ACCOUNT_COLUMNS, list(fresh.values()), _taken)

        with _rows_named("accounts"):
            for i, h, d, k, t in rows:
                ident = v.check_id(i, "id")
                batch.append(_account_row(f"{key_prefix}:{ident}", ident, h, d, k, t, seq))
                if len(batch) >= _CHUNK:
                    added += flush()
        return added + (flush() if batch else 0)

    def upsert_accounts(self, records: Iterable[AccountRecord]) -> dict[str, int]:
        """Write accounts by external key; ``key → internal id`` for every record.

        A new key gets the next dense id; a known key keeps its id and takes the record's
        handle, display name and kind (a re-sync updates the same row).
        """
        seq = self._need_tx()
        recs = {r.key: r for r in records}  # the last record of a key wins
        with _rows_named("accounts"):
            rows = {
                key: _account_row(key, 0, r.handle, r.display_name, r.kind, r.created_at, seq)
                for key, r in recs.items()
            }
        held = self._existing("accounts", "ext_key", list(rows))
        update = [
            (row[1], row[2], row[3], seq, held[key], row[1], row[2], row[3])
            for key, row in rows.items()
            if key in held
        ]
        self._insert_new(
            "accounts",
            "UPDATE accounts SET handle = ?, display_name = ?, kind = ?, seq = ? WHERE id = ?"
            " AND (handle <> ? OR display_name <> ? OR kind <> ?)",
            update,
            lambda row: f"account {row[4]}: handle {v.brief(row[0])} is already taken",
        )
        new = [key for key in rows if key not in held]
        start = self._next_id("accounts")
        ids = dict(held) | {key: start + n for n, key in enumerate(new)}
        self._insert_all(
            "accounts", _ACCOUNT_COLUMNS, [(ids[key], *rows[key][1:]) for key in new], _taken
        )
        return ids

    def ids_for_keys(self, table: str, keys: Iterable[str]) -> dict[str, int]:
        """``key → internal id`` of the stored accounts or posts among ``keys``."""
        if table not in ("accounts", "posts"):
            raise StoreError(f"no external keys in {table!r}")
        return {str(k): i for k, i in self._existing(table, "ext_key", list(keys)).items()}

    # --------------------------------------------------------------- follows
    def add_follows(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert ``(src, dst, created_at)`` follow edges; existing edges are kept."""
        seq = self._need_tx()
        with _rows_named("follows"):
            clean = [
                (v.check_id(s, "src"), v.check_id(d, "dst"), _time(t, "created_at"), seq)
                for s, d, t in rows
            ]
        return self._bulk_insert("follows", ("src", "dst", "created_at", "seq"), clean)

    def remove_follows(self, pairs: Iterable[tuple[int, int]]) -> int:
        """Delete ``(src, dst)`` edges, leaving a tombstone for snapshots to catch up on."""
        seq = self._need_tx()
        removed = 0
        for src, dst in pairs:
            if self._exec("DELETE FROM follows WHERE src = ? AND dst = ?", (int(src), int(dst))):
                removed += 1
                self._exec(
                    "INSERT INTO removed_follows (seq, src, dst) VALUES (?, ?, ?)",
                    (seq, int(src), int(dst)),
                )
        return removed

    # ----------------------------------------------------------------- posts
    def _hashtag_id(self, tag: str) -> int:
        """Dense hashtag ids from 1 (the snapshot's tag index is ``id - 1``)."""
        if self._hashtag_ids is None:
            self._hashtag_ids = {
                str(t): int(i) for t, i in self._fetch("SELECT tag, id FROM hashtags")
            }
        hid = self._hashtag_ids.get(tag)
        while hid is None:
            candidate = max(self._hashtag_ids.values(), default=0) + 1
            if self._exec(
                "INSERT INTO hashtags (id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (candidate, tag),
            ):
                hid = candidate
                self._hashtag_ids[tag] = hid
            else:  # another process added tags since this cache was read
                self._hashtag_ids = {
                    str(t): int(i) for t, i in self._fetch("SELECT tag, id FROM hashtags")
                }
                hid = self._hashtag_ids.get(tag)
        return hid

    def _post_row(self, key: str, pid: int, row: Sequence[Any], seq: int) -> tuple[Any, ...]:
        author, taken, caption, media, image, likes, comments = row
        return (
            pid,
            None if author is None else v.check_id(author, "author"),
            _time(taken, "taken_at"),
            v.check_text(str(caption or ""), "caption", max_chars=v.CAPTION_MAX),
            _code(media, MEDIA_TYPES, "media type"),
            None if image is None else v.check_url_or_path(image),
            v.check_count(likes, "like_count"),
            v.check_count(comments, "comment_count"),
            seq,
            v.check_text(key, "key", max_chars=v.IMAGE_MAX),
        )

    _POST_COLUMNS = (
        "id", "author", "taken_at", "caption", "media_type", "image", "like_count",
        "comment_count", "seq", "ext_key",
    )  # fmt: skip

    def _insert_posts(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert new post rows and link the hashtags of their captions."""
        added = self._insert_all(
            "posts",
            self._POST_COLUMNS,
            rows,
            lambda r: f"post {r[0]}: key {v.brief(r[9])} is taken",
        )
        tags = [
            (row[0], self._hashtag_id(norm), original, row[8])
            for row in rows
            for norm, original in extract_hashtags(row[3])
        ]
        self._bulk_insert("post_hashtags", ("post", "hashtag", "original", "seq"), tags)
        return added

    def add_posts(self, rows: Iterable[tuple[Any, ...]], *, key_prefix: str = "id") -> int:
        """Insert ``(id, author, taken_at, caption, media_type, image, like_count, comment_count)``.

        For loaders that own their ids; each post's external key is ``f"{key_prefix}:{id}"``.
        Hashtags are parsed from the caption (:func:`extract_hashtags`) and linked in the same
        transaction. Existing post ids are kept untouched (their hashtags too; the first row
        wins when an id repeats). Returns how many posts were new.
        """
        seq = self._need_tx()
        new = 0
        batch: dict[int, tuple[Any, ...]] = {}

        def flush() -> int:
            held = self._existing("posts", "id", list(batch))
            fresh = [row for pid, row in batch.items() if pid not in held]
            batch.clear()
            return self._insert_posts(fresh)

        with _rows_named("posts"):
            for row in rows:
                pid = v.check_id(row[0], "id")
                if pid not in batch:
                    batch[pid] = self._post_row(f"{key_prefix}:{pid}", pid, row[1:], seq)
                if len(batch) >= _CHUNK:
                    new += flush()
        return new + (flush() if batch else 0)

    def upsert_posts(self, records: Iterable[PostRecord]) -> dict[str, int]:
        """Write posts by external key; ``key → internal id`` for every record.

        A new key gets the next dense id and its caption's hashtags; a known key keeps its id
        and takes the record's caption, counts, image and media type (a re-sync refreshes what
        changes on a network, an edited caption included), re-stamped so snapshots catch up.
        An edited caption's hashtags replace the old caption's: tags it no longer has are
        unlinked, new ones linked; links added by :meth:`add_post_tags` that no caption had
        stay.
        """
        seq = self._need_tx()
        recs = {r.key: r for r in records}
        with _rows_named("posts"):
            rows = {
                key: self._post_row(
                    key,
                    0,
                    (
                        r.author,
                        r.taken_at,
                        r.caption,
                        r.media_type,
                        r.image,
                        r.like_count,
                        r.comment_count,
                    ),
                    seq,
                )
                for key, r in recs.items()
            }
        sql = "SELECT ext_key, id, caption FROM posts WHERE ext_key IN ({})"
        stored = {str(k): (int(i), str(c)) for k, i, c in self._fetch_in(sql, list(rows))}
        held = {key: pid for key, (pid, _) in stored.items()}
        self._many(
            "UPDATE posts SET caption = ?, media_type = ?, image = ?, like_count = ?,"
            " comment_count = ?, seq = ? WHERE id = ? AND (caption <> ? OR media_type <> ?"
            " OR like_count <> ? OR comment_count <> ? OR COALESCE(image, '') <> COALESCE(?, ''))",
            [
                (r[3], r[4], r[5], r[6], r[7], seq, held[key], r[3], r[4], r[6], r[7], r[5])
                for key, r in rows.items()
                if key in held
            ],
        )
        self._retag([(pid, old, rows[key]) for key, (pid, old) in stored.items()])
        new = [key for key in rows if key not in held]
        start = self._next_id("posts")
        ids = dict(held) | {key: start + n for n, key in enumerate(new)}
        self._insert_posts([(ids[key], *rows[key][1:]) for key in new])
        return ids

    def _retag(self, edits: list[tuple[int, str, tuple[Any, ...]]]) -> None:
        """Relink the hashtags of ``(post, old caption, new row)`` whose caption changed."""
        gone, added = [], []
        for pid, old, row in edits:
            if old == row[3]:
                continue
            before, after = dict(extract_hashtags(old)), dict(extract_hashtags(row[3]))
            gone += [(pid, self._hashtag_id(t)) for t in before if t not in after]
            added += [(pid, self._hashtag_id(t), o, row[8]) for t, o in after.items()]
        self._many("DELETE FROM post_hashtags WHERE post = ? AND hashtag = ?", gone)
        if gone:  # tombstones, so running snapshots drop the links too
            seq = self._need_tx()
            self._many(
                "INSERT INTO removed_post_hashtags (seq, post, hashtag) VALUES (?, ?, ?)",
                [(seq, p, h) for p, h in gone],
            )
        self._bulk_insert("post_hashtags", ("post", "hashtag", "original", "seq"), added)

    def add_post_tags(self, rows: Iterable[tuple[int, str]]) -> int:
        """Link extra ``(post, tag)`` hashtags that are not in the caption (imported tag data)."""
        seq = self._need_tx()
        out = []
        with _rows_named("post_hashtags"):
            for post, tag in rows:
                text = v.check_text(tag, "tag", max_chars=v.DISPLAY_NAME_MAX)
                norm = normalize_hashtag(text)
                if norm:
                    out.append((v.check_id(post, "post"), self._hashtag_id(norm), text, seq))
        return self._bulk_insert("post_hashtags", ("post", "hashtag", "original", "seq"), out)

    # ---------------------------------------------------------- interactions
    def _interaction_rows(self, rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        with _rows_named("interactions"):
            return [
                (
                    v.check_id(u, "account"),
                    v.check_id(p, "post"),
                    _code(k, list(KIND_CODE), "interaction kind"),
                    _time(t, "created_at"),
                    None if val is None else float(val),
                )
                for u, p, k, t, val in rows
            ]

    def _mark_interactions(self) -> None:
        if self._tx.check_from is None:  # references are checked once, at commit
            self._tx.check_from = int(
                self._fetch("SELECT COALESCE(MAX(id), 0) FROM interactions")[0][0]
            )

    _INTERACTION_COLUMNS = ("account", "post", "kind", "created_at", "value")

    def add_interactions(
        self,
        rows: Iterable[tuple[Any, ...]],
        *,
        update_counts: bool = False,
        states: Iterable[str] = (),
    ) -> int:
        """Insert ``(account, post, kind, created_at, value)`` interactions; duplicates ignored.

        A duplicate is the same account, post, kind and time — or, for the kinds named in
        ``states`` (live likes, saves, hides), any earlier interaction of that account, post
        and kind: a state is held once, however often it is sent. With ``update_counts`` each
        *new* like or comment also increments the post's ``like_count``/``comment_count`` (live
        events); bulk loaders that already wrote the counts leave it off.
        """
        seq = self._need_tx()
        values = self._interaction_rows(rows)
        state_codes = {KIND_CODE[k] for k in states}
        if state_codes and values:
            values = self._drop_held_states(values, state_codes)
        self._mark_interactions()
        if not update_counts:
            return self._bulk_insert("interactions", self._INTERACTION_COLUMNS, values)
        # Live events: one multi-row INSERT per chunk, whose RETURNING names the rows that were
        # new (duplicates return nothing), then one count update per post and column.
        added = 0
        bumps: dict[tuple[str, int], int] = {}
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
            returned = self._fetch(
                f"INSERT INTO interactions ({', '.join(self._INTERACTION_COLUMNS)}) VALUES"
                f" {marks} ON CONFLICT DO NOTHING RETURNING post, kind",
                [x for row in chunk for x in row],
            )
            for post, kind in returned:
                added += 1
                column = {_LIKE: "like_count", _COMMENT: "comment_count"}.get(int(kind))
                if column:
                    bumps[column, int(post)] = bumps.get((column, int(post)), 0) + 1
        for column in ("like_count", "comment_count"):
            self._many(
                f"UPDATE posts SET {column} = {column} + ?, seq = ? WHERE id = ?",
                [(n, seq, post) for (c, post), n in bumps.items() if c == column],
            )
        return added

    def _drop_held_states(
        self, values: list[tuple[Any, ...]], codes: set[int]
    ) -> list[tuple[Any, ...]]:
        """``values`` without the state rows whose (account, post, kind) is already held, in
        the store or earlier in ``values`` (writers are serialised: no race between the two)."""
        triples = sorted({(r[0], r[1], r[2]) for r in values if r[2] in codes})
        held: set[tuple[int, int, int]] = set()
        # An OR of (account, post, kind) equalities: one index seek per term on the unique
        # key's prefix in both SQLite (multi-index OR) and PostgreSQL (bitmap OR). A row-value
        # IN (VALUES …) made SQLite scan the whole table (24 s a batch on 14 M interactions).
        term = "(account = ? AND post = ? AND kind = ?)"
        for start in range(0, len(triples), 100):
            chunk = triples[start : start + 100]
            held |= {
                (int(a), int(p), int(k))
                for a, p, k in self._fetch(
                    "SELECT account, post, kind FROM interactions WHERE "
                    + " OR ".join([term] * len(chunk)),
                    [x for key in chunk for x in key],
                )
            }
        out = []
        for row in values:
            key = (row[0], row[1], row[2])
            if row[2] in codes:
                if key in held:
                    continue
                held.add(key)
            out.append(row)
        return out

    def _check_interaction_refs(self, after_id: int) -> None:
        """Interactions must name an existing account and post: a dangling one could never be
        shown, and would make a snapshot's view depend on the order rows arrived in."""
        bad = self._fetch(
            "SELECT i.account, i.post, EXISTS (SELECT 1 FROM accounts a WHERE a.id = i.account)"
            " FROM interactions i WHERE i.id > ? AND (NOT EXISTS (SELECT 1 FROM posts p"
            " WHERE p.id = i.post) OR NOT EXISTS (SELECT 1 FROM accounts a"
            " WHERE a.id = i.account)) LIMIT 1",
            (after_id,),
        )
        if bad:
            user, post, user_ok = bad[0]
            what = f"post {post}" if user_ok else f"account {user}"
            raise StoreError(f"interaction of account {user} on post {post}: no such {what}")

    def add_interaction_arrays(
        self, user: Any, post: Any, kind: Any, created_at: Any, value: Any = None
    ) -> int:
        """Bulk-insert interactions from parallel integer arrays (codes, not names).

        For generators and importers that already hold clean numpy arrays: values are checked
        per array, not per row, and references are not checked at commit (a generator writes
        interactions before the posts they name). ``value`` may be None or an array with NaN
        for "no value". Duplicates are ignored and post counts are not touched.
        """
        self._need_tx()
        n = len(user)
        if n == 0:
            return 0
        arrays = {"account": user, "post": post, "created_at": created_at}
        for name, arr in arrays.items():
            a = np.asarray(arr)
            low, high = (v.TIME_MIN, v.TIME_MAX) if name == "created_at" else (0, v.ID_MAX)
            if a.dtype.kind not in "iu" or int(a.min()) < low or int(a.max()) > high:
                raise StoreError(f"interactions: {name} values out of range")
        if int(kind.min()) < 0 or int(kind.max()) >= len(KIND_CODE):
            raise StoreError(f"interactions: kind code out of range 0..{len(KIND_CODE) - 1}")
        if value is None or bool((value != value).all()):  # all NaN: no values at all
            values: list[float | None] = [None] * n
        else:
            values = [None if x != x else x for x in value.tolist()]
        rows = zip(
            user.tolist(), post.tolist(), kind.tolist(), created_at.tolist(), values, strict=True
        )
        return self._bulk_insert("interactions", self._INTERACTION_COLUMNS, rows)

    # -------------------------------------------------------------- removals
    def remove_posts(self, post_ids: Iterable[int]) -> int:
        """Delete posts (upstream deletions, an author's own): the row, its hashtag links and
        the interactions on it, leaving a tombstone snapshots catch up on. Returns how many
        posts were deleted (unknown ids are ignored)."""
        seq = self._need_tx()
        ids = sorted(set(self._existing("posts", "id", [int(p) for p in post_ids]).values()))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            self._exec(f"DELETE FROM post_hashtags WHERE post IN ({marks})", chunk)
            self._exec(f"DELETE FROM interactions WHERE post IN ({marks})", chunk)
            self._exec(f"DELETE FROM posts WHERE id IN ({marks})", chunk)
            self._many(
                "INSERT INTO removed_posts (seq, id) VALUES (?, ?)", [(seq, p) for p in chunk]
            )
        return len(ids)

    def remove_interactions(self, rows: Iterable[tuple[int, int, Any]]) -> int:
        """Withdraw every ``(account, post, kind)`` interaction (an unlike, an unsave, a like
        deleted upstream): the rows go, a like or comment also leaves the post's count, and a
        tombstone tells snapshots. Returns how many interaction rows were deleted."""
        seq = self._need_tx()
        removed = 0
        for account, post, kind in rows:
            code = _code(kind, list(KIND_CODE), "interaction kind")
            key = (int(account), int(post), code)
            gone = self._exec(
                "DELETE FROM interactions WHERE account = ? AND post = ? AND kind = ?", key
            )
            if not gone:
                continue
            removed += gone
            self._exec(
                "INSERT INTO removed_interactions (seq, account, post, kind) VALUES (?, ?, ?, ?)",
                (seq, *key),
            )
            column = {_LIKE: "like_count", _COMMENT: "comment_count"}.get(code)
            if column:  # counts never go below zero (an import may have set them lower)
                self._exec(
                    f"UPDATE posts SET {column} = CASE WHEN {column} > ? THEN {column} - ?"
                    f" ELSE 0 END, seq = ? WHERE id = ?",
                    (gone, gone, seq, key[1]),
                )
        return removed

    # ---------------------------------------------------------- ground truth
    def add_truth_users(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Ground truth of a synthetic world: ``(account, interests_json, community)`` rows."""
        self._need_tx()
        return self._bulk_insert(
            "truth_users",
            ("account", "interests", "community"),
            ((int(a), str(i), int(c)) for a, i, c in rows),
        )

    def add_truth_posts(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Ground truth of a synthetic world: ``(post, topic, quality, clickbait)`` rows."""
        self._need_tx()
        return self._bulk_insert(
            "truth_posts",
            ("post", "topic", "quality", "clickbait"),
            ((int(p), int(t), float(q), int(c)) for p, t, q, c in rows),
        )
