"""The embedded store: one SQLite file in WAL mode behind one small class.

Everything that touches SQL lives in this package, so a PostgreSQL backend can replace this
module without the rest of the engine noticing. Writes happen in :meth:`Store.transaction`: all
or nothing, and idempotent (re-importing the same rows changes nothing, not even the change
counter).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import DiscoveryError
from .model import ACCOUNT_KINDS, KIND_CODE, MEDIA_TYPES, extract_hashtags, normalize_hashtag
from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

__all__ = ["NotFound", "Store", "StoreError"]

_CHUNK = 50_000
_LIKE, _COMMENT = KIND_CODE["like"], KIND_CODE["comment"]


class StoreError(DiscoveryError):
    """A problem with the database file or the data written to it (message is user-facing)."""


class NotFound(StoreError):
    """An account, post or handle that the store does not hold."""


def _code(value: Any, names: Sequence[str], what: str) -> int:
    if isinstance(value, str):
        try:
            return names.index(value)
        except ValueError:
            raise StoreError(
                f"unknown {what} {value!r}; expected one of {', '.join(names)}"
            ) from None
    code = int(value)
    if not 0 <= code < len(names):
        raise StoreError(f"unknown {what} code {code}")
    return code


def _statements(script: str) -> Iterator[str]:
    """Split an SQL script into complete statements (a trigger body's ';' stays inside)."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\n;"):
                yield buffer.strip()
            buffer = ""
    if buffer.strip(" \t\n;"):
        raise StoreError(f"incomplete SQL statement in migration: {buffer.strip()[:60]!r}")


class Store:
    """A discovery-engine database.

    Parameters
    ----------
    conn : sqlite3.Connection
        An open connection in autocommit mode; use :meth:`open` instead of the constructor.
    path : Path
        Where the file lives (the snapshot cache sits next to it).

    Examples
    --------
    >>> s = Store.open(":memory:")
    >>> with s.transaction():
    ...     added = s.add_accounts([(1, "ana", "Ana", "person", 0)])
    >>> s.account_id("ana"), s.change_counter
    (1, 1)
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._seq: int | None = None
        self._check_from: int | None = None
        self._hashtag_ids: dict[str, int] | None = None
        self._last_batch: list[tuple[Any, ...]] = []

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, create: bool = True, migrate: bool = False
    ) -> Store:
        """Open (or create) a database file and check its schema version.

        Raises
        ------
        StoreError
            The file is missing (``create=False``), is not a discovery database, or has a
            schema version other than this package's (newer: upgrade the package; older:
            ``discovery migrate``, or ``migrate=True``).
        """
        p = Path(path)
        memory = str(path) == ":memory:"
        if not memory and not p.exists() and not create:
            raise StoreError(f"{p}: no such database (run `discovery generate` or an import first)")
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(path), isolation_level=None, timeout=30.0, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 30000")
            if not memory:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise StoreError(f"{p}: not a discovery-engine database ({exc})") from None
        store = cls(conn, p)
        try:
            if not tables:
                if not create:
                    raise StoreError(f"{p}: empty file, not a discovery-engine database")
                store._create()
            elif "meta" not in tables or store.get_meta("schema_version") is None:
                raise StoreError(f"{p}: not a discovery-engine database (no schema version)")
            else:
                store._check_version(migrate)
        except BaseException:
            conn.close()  # a refused file must not stay open (and locked) in this process
            raise
        return store

    def _create(self) -> None:
        # One script, one transaction: a file killed while being created has no tables at all.
        self.conn.executescript(
            "BEGIN IMMEDIATE;"
            + SCHEMA
            + f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}'),"
            f" ('change_counter', '0'), ('created_at', '{int(time.time())}'),"
            f" ('store_id', '{uuid.uuid4().hex}') ON CONFLICT DO NOTHING;"
            "COMMIT;"
        )

    def _check_version(self, migrate: bool) -> None:
        found = self._meta_int("schema_version")
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer discovery-engine (schema {found}, this one "
                f"understands {SCHEMA_VERSION}); upgrade the package"
            )
        if found < SCHEMA_VERSION:
            if not migrate:
                raise StoreError(
                    f"{self.path}: schema {found} is older than {SCHEMA_VERSION}; "
                    "run `discovery migrate` (a backup is a copy of the file)"
                )
            self.migrate()

    def migrate(self) -> int:
        """Apply :data:`MIGRATIONS` up to :data:`SCHEMA_VERSION` in one transaction."""
        found = self._meta_int("schema_version")
        with self.transaction():
            for version in range(found, SCHEMA_VERSION):
                if version not in MIGRATIONS:
                    raise StoreError(f"{self.path}: no migration from schema {version}")
                # Not executescript(): it COMMITs the open transaction first, so a failing
                # migration would leave a half-upgraded file.
                for statement in _statements(MIGRATIONS[version]):
                    try:
                        self.conn.execute(statement)
                    except sqlite3.DatabaseError as exc:
                        raise StoreError(
                            f"{self.path}: migration from schema {version} failed ({exc}); "
                            "the file is unchanged"
                        ) from None
            self.set_meta("schema_version", SCHEMA_VERSION)
        return SCHEMA_VERSION

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[int]:
        """All-or-nothing write block; yields the change-counter value its rows are stamped with.

        The counter only advances when the block changed something, so an idempotent re-import
        leaves the file byte-for-byte equivalent.
        """
        if self._seq is not None:  # nested: join the outer transaction
            yield self._seq
            return
        self.conn.execute("BEGIN IMMEDIATE")
        before = self.conn.total_changes
        self._seq = self._meta_int("change_counter") + 1
        self._check_from = None
        try:
            yield self._seq
            if self._check_from is not None:
                self._check_interaction_refs(self._check_from)
            if self.conn.total_changes != before:
                self.set_meta("change_counter", self._seq)
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:  # SQLite may already have rolled back (disk full...)
                self.conn.execute("ROLLBACK")
            self._hashtag_ids = None
            raise
        finally:
            self._seq = None

    def _need_tx(self) -> int:
        if self._seq is None:
            raise StoreError("writes must happen inside `with store.transaction():`")
        return self._seq

    @property
    def change_counter(self) -> int:
        """Monotonic counter of committed write transactions (keys the snapshot cache)."""
        return self._meta_int("change_counter")

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: Any) -> None:
        self._need_tx()
        text = value if isinstance(value, str) else json.dumps(value)
        self.conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            " WHERE value != excluded.value",
            (key, text),
        )

    def _meta_int(self, key: str) -> int:
        return int(self.get_meta(key) or 0)

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta ORDER BY key"))

    # ---------------------------------------------------------------- writes
    def _many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
        before = self.conn.total_changes
        batch: list[tuple[Any, ...]] = []
        self._last_batch = batch
        for row in rows:
            batch.append(row)
            if len(batch) >= _CHUNK:
                self.conn.executemany(sql, batch)
                batch.clear()
        if batch:
            self.conn.executemany(sql, batch)
        return self.conn.total_changes - before

    def add_accounts(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert ``(id, handle, display_name, kind, created_at)`` rows; existing ids are kept.

        ``kind`` is ``"person"``/``"brand"`` or its code. Returns how many rows were new.
        """
        seq = self._need_tx()
        # Only an existing *id* is skipped: a new id whose handle is taken is an error, not a
        # silently dropped account that follows and posts would then point at.
        sql = "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
        clean = (
            (int(i), str(h), str(d or ""), _code(k, ACCOUNT_KINDS, "account kind"), int(t), seq)
            for i, h, d, k, t in rows
        )
        try:
            return self._many(sql, clean)
        except sqlite3.IntegrityError:
            pass
        # Rare path: find the row that clashed, for a message that names it.
        for row in self._last_batch:
            owner = self.conn.execute(
                "SELECT id FROM accounts WHERE handle = ?", (row[1],)
            ).fetchone()
            if owner is not None and owner[0] != row[0]:
                raise StoreError(
                    f"account {row[0]}: handle {row[1]!r} is already taken by account {owner[0]}"
                )
        raise StoreError("accounts: duplicate handles in one batch")

    def add_follows(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert ``(src, dst, created_at)`` follow edges; existing edges are kept."""
        seq = self._need_tx()
        return self._many(
            "INSERT INTO follows VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            ((int(s), int(d), int(t), seq) for s, d, t in rows),
        )

    def remove_follows(self, pairs: Iterable[tuple[int, int]]) -> int:
        """Delete ``(src, dst)`` edges, leaving a tombstone for snapshots to catch up on."""
        seq = self._need_tx()
        removed = 0
        for src, dst in pairs:
            cur = self.conn.execute("DELETE FROM follows WHERE src = ? AND dst = ?", (src, dst))
            if cur.rowcount:
                removed += 1
                self.conn.execute("INSERT INTO removed_follows VALUES (?, ?, ?)", (seq, src, dst))
        return removed

    def _hashtag_id(self, tag: str) -> int:
        if self._hashtag_ids is None:
            self._hashtag_ids = dict(self.conn.execute("SELECT tag, id FROM hashtags"))
        hid = self._hashtag_ids.get(tag)
        if hid is None:
            hid = len(self._hashtag_ids) + 1
            while True:  # ids are dense unless a rolled-back writer left a gap
                try:
                    self.conn.execute("INSERT INTO hashtags VALUES (?, ?)", (hid, tag))
                    break
                except sqlite3.IntegrityError:
                    self._hashtag_ids = dict(self.conn.execute("SELECT tag, id FROM hashtags"))
                    if tag in self._hashtag_ids:
                        return self._hashtag_ids[tag]
                    hid = max(self._hashtag_ids.values(), default=0) + 1
            self._hashtag_ids[tag] = hid
        return hid

    def add_posts(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert ``(id, author, taken_at, caption, media_type, image, like_count, comment_count)``.

        Hashtags are parsed from the caption (:func:`extract_hashtags`) and linked in the same
        transaction. Existing post ids are kept untouched (their hashtags too; the first row
        wins when an id repeats). Returns how many posts were new.
        """
        seq = self._need_tx()
        post_sql = "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
        tag_sql = "INSERT INTO post_hashtags VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
        new = 0
        posts: list[tuple[Any, ...]] = []
        tags: list[tuple[int, int, str, str]] = []  # (row in batch, post, normalised, original)

        def flush() -> int:
            if not posts:
                return 0
            skip = self._existing_posts([row[0] for row in posts])
            fresh: set[int] = set()  # batch rows that will be inserted
            for i, row in enumerate(posts):
                if row[0] not in skip:
                    fresh.add(i)
                    skip.add(row[0])
            before = self.conn.total_changes
            self.conn.executemany(post_sql, posts)
            added = self.conn.total_changes - before
            self.conn.executemany(
                tag_sql,
                [(pid, self._hashtag_id(n), o, seq) for i, pid, n, o in tags if i in fresh],
            )
            posts.clear()
            tags.clear()
            return added

        for pid, author, taken, caption, media, image, likes, comments in rows:
            pid = int(pid)
            caption = str(caption or "")
            posts.append(
                (
                    pid,
                    None if author is None else int(author),
                    int(taken),
                    caption,
                    _code(media, MEDIA_TYPES, "media type"),
                    image,
                    int(likes),
                    int(comments),
                    seq,
                )
            )
            for norm, original in extract_hashtags(caption):
                tags.append((len(posts) - 1, pid, norm, original))
            if len(posts) >= _CHUNK:
                new += flush()
        return new + flush()

    def _existing_posts(self, ids: list[int]) -> set[int]:
        """Which of ``ids`` are already stored (one MAX lookup when a batch is all new)."""
        top = self.conn.execute("SELECT MAX(id) FROM posts").fetchone()[0]
        if top is None or min(ids) > top:
            return set()
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.conn.execute(f"SELECT id FROM posts WHERE id IN ({marks})", chunk)
            )
        return found

    def add_post_tags(self, rows: Iterable[tuple[int, str]]) -> int:
        """Link extra ``(post, tag)`` hashtags that are not in the caption (imported tag data)."""
        seq = self._need_tx()
        out = []
        for post, tag in rows:
            norm = normalize_hashtag(tag)
            if norm:
                out.append((int(post), self._hashtag_id(norm), tag, seq))
        return self._many(
            "INSERT INTO post_hashtags VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", out
        )

    def add_interactions(
        self, rows: Iterable[tuple[Any, ...]], *, update_counts: bool = False
    ) -> int:
        """Insert ``(user, post, kind, created_at, value)`` interactions; duplicates are ignored.

        A duplicate is the same user, post, kind and time. With ``update_counts`` each *new*
        like or comment also increments the post's ``like_count``/``comment_count`` (live events);
        bulk loaders that already wrote the counts leave it off.
        """
        seq = self._need_tx()
        sql = "INSERT INTO interactions (user, post, kind, created_at, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
        clean = (
            (
                int(u),
                int(p),
                _code(k, list(KIND_CODE), "interaction kind"),
                int(t),
                None if v is None else float(v),
            )
            for u, p, k, t, v in rows
        )
        if self._check_from is None:  # references are checked once, at commit
            self._check_from = int(
                self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM interactions").fetchone()[0]
            )
        if not update_counts:
            return self._many(sql, clean)
        # Live events: one multi-row INSERT per chunk, whose RETURNING names the rows that were
        # new (duplicates return nothing), then one count update per post and column.
        added = 0
        bumps: dict[tuple[str, int], int] = {}
        values = list(clean)
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ",".join(["(?, ?, ?, ?, ?)"] * len(chunk))
            flat = [x for row in chunk for x in row]
            for post, kind in self.conn.execute(
                f"{sql.replace('VALUES (?, ?, ?, ?, ?)', 'VALUES ' + marks)} RETURNING post, kind",
                flat,
            ).fetchall():
                added += 1
                column = {_LIKE: "like_count", _COMMENT: "comment_count"}.get(kind)
                if column:
                    bumps[column, post] = bumps.get((column, post), 0) + 1
        for column in ("like_count", "comment_count"):
            self.conn.executemany(
                f"UPDATE posts SET {column} = {column} + ?, seq = ? WHERE id = ?",
                [(n, seq, post) for (c, post), n in bumps.items() if c == column],
            )
        return added

    def _check_interaction_refs(self, after_id: int) -> None:
        """Interactions must name an existing account and post: a dangling one could never be
        shown, and would make a snapshot's view depend on the order rows arrived in."""
        bad = self.conn.execute(
            "SELECT i.user, i.post, EXISTS (SELECT 1 FROM accounts a WHERE a.id = i.user)"
            " FROM interactions i WHERE i.id > ? AND (NOT EXISTS (SELECT 1 FROM posts p"
            " WHERE p.id = i.post) OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = i.user))"
            " LIMIT 1",
            (after_id,),
        ).fetchone()
        if bad is not None:
            user, post, user_ok = bad
            what = f"post {post}" if user_ok else f"account {user}"
            raise StoreError(f"interaction of account {user} on post {post}: no such {what}")

    def add_interaction_arrays(
        self, user: Any, post: Any, kind: Any, created_at: Any, value: Any = None
    ) -> int:
        """Bulk-insert interactions from parallel integer arrays (codes, not names).

        For generators and importers that already hold clean numpy arrays: no per-row
        normalisation. ``value`` may be None or an array with NaN for "no value". Duplicates are
        ignored and post counts are not touched (as ``add_interactions(update_counts=False)``).
        """
        self._need_tx()
        n = len(user)
        if value is None or bool((value != value).all()):  # all NaN: no values at all
            values: list[float | None] = [None] * n
        else:
            values = [None if v != v else v for v in value.tolist()]
        if n and (int(kind.min()) < 0 or int(kind.max()) >= len(KIND_CODE)):
            raise StoreError(f"interactions: kind code out of range 0..{len(KIND_CODE) - 1}")
        rows = zip(
            user.tolist(), post.tolist(), kind.tolist(), created_at.tolist(), values, strict=True
        )
        return self._many(
            "INSERT INTO interactions (user, post, kind, created_at, value) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            rows,
        )

    def add_truth_users(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Ground truth of a synthetic world: ``(account, interests_json, community)`` rows."""
        self._need_tx()
        return self._many(
            "INSERT INTO truth_users VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            ((int(a), str(i), int(c)) for a, i, c in rows),
        )

    def add_truth_posts(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Ground truth of a synthetic world: ``(post, topic, quality, clickbait)`` rows."""
        self._need_tx()
        return self._many(
            "INSERT INTO truth_posts VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            ((int(p), int(t), float(q), int(c)) for p, t, q, c in rows),
        )

    # ----------------------------------------------------------------- reads
    def account_id(self, handle: str) -> int:
        """Id of ``handle`` (a leading '@' is ignored); :class:`NotFound` if there is none."""
        row = self.conn.execute(
            "SELECT id FROM accounts WHERE handle = ?", (handle.lstrip("@"),)
        ).fetchone()
        if row is None:
            raise NotFound(f"no account with handle {handle!r}")
        return int(row[0])

    def count(self, table: str) -> int:
        if table not in {
            "accounts",
            "follows",
            "posts",
            "hashtags",
            "post_hashtags",
            "interactions",
        }:
            raise StoreError(f"unknown table {table!r}")
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query (used by the snapshot loader and reports)."""
        return self.conn.execute(sql, params).fetchall()

    def post_details(self, post_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Caption, image and media type of a few posts (for display; not on the ranking path)."""
        out: dict[int, dict[str, Any]] = {}
        ids = [int(p) for p in post_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for pid, caption, image, media in self.conn.execute(
                f"SELECT id, caption, image, media_type FROM posts WHERE id IN ({marks})", chunk
            ):
                out[int(pid)] = {
                    "caption": caption,
                    "image": image,
                    "media_type": MEDIA_TYPES[media],
                }
        return out

    def account_details(self, account_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Handle, display name and kind of a few accounts."""
        out: dict[int, dict[str, Any]] = {}
        ids = [int(a) for a in account_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for aid, handle, name, kind, created in self.conn.execute(
                "SELECT id, handle, display_name, kind, created_at FROM accounts"
                f" WHERE id IN ({marks})",
                chunk,
            ):
                out[int(aid)] = {
                    "handle": handle,
                    "display_name": name,
                    "kind": ACCOUNT_KINDS[kind],
                    "created_at": created,
                }
        return out

    def user_settings(self, account_id: int) -> dict[str, Any]:
        """Saved per-user settings (feed weights, blocked handles); empty when none."""
        row = self.conn.execute(
            "SELECT body FROM user_settings WHERE account = ?", (int(account_id),)
        ).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    def save_user_settings(self, account_id: int, body: dict[str, Any]) -> None:
        """Replace a user's saved settings (inside a transaction)."""
        self._need_tx()
        self.conn.execute(
            "INSERT INTO user_settings VALUES (?, ?) ON CONFLICT (account) DO UPDATE"
            " SET body = excluded.body",
            (int(account_id), json.dumps(body, sort_keys=True)),
        )
