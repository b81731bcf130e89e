"""Build a :class:`Snapshot` from the store, through a columnar cache next to the database.

A full load streams each table into numpy with ``np.fromiter`` (no Python lists of rows). The
result is saved as ``<db>.snapshot/<folder>/*.npy`` (one plain ``.npy`` per array, no pickle; a
``current`` file names the folder) and opened memory-mapped,
keyed by the store's change counter; the next load reads the file and applies only the rows
written since (``seq`` / interaction id above the cached marks, plus unfollow tombstones).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from ..store import Store
from ..store.events import read_consistently
from .arrays import IdIndex, Snapshot

__all__ = ["cache_path", "load_snapshot", "refresh_snapshot"]

_CACHE_VERSION = 2


def cache_path(store: Store) -> Path | None:
    """Where the columnar cache of ``store`` lives (None for in-memory databases)."""
    if str(store.path) == ":memory:":
        return None
    return Path(str(store.path) + ".snapshot") / "current"


def _fetch(store: Store, sql: str, dtype: list[tuple[str, Any]], params: tuple = ()) -> np.ndarray:
    cur = store.conn.execute(sql, params)
    return np.fromiter(cur, dtype=np.dtype(dtype))


def _now(store: Store, snap_times: list[np.ndarray]) -> int:
    meta_now = store.get_meta("now")
    if meta_now:
        return int(meta_now)
    latest = [int(t.max()) for t in snap_times if len(t)]
    return max(latest) if latest else int(time.time())


def _strings(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=np.str_) if values else np.zeros(0, dtype="<U1")


def _full(store: Store) -> Snapshot:
    """Read everything (the slow path, paid once per cache)."""
    counter = store.change_counter
    acc = store.query("SELECT id, handle, kind FROM accounts ORDER BY id")
    account_id = np.array([r[0] for r in acc], dtype=np.int64)
    accounts = IdIndex.build(account_id)
    empty = Snapshot(
        counter=counter,
        now=0,
        max_interaction_id=0,
        account_id=account_id,
        handle=_strings([r[1] for r in acc]),
        account_kind=np.array([r[2] for r in acc], dtype=np.int8),
        follow_src=np.zeros(0, np.int32),
        follow_dst=np.zeros(0, np.int32),
        follow_time=np.zeros(0, np.int64),
        post_id=np.zeros(0, np.int64),
        post_author=np.zeros(0, np.int32),
        post_taken=np.zeros(0, np.int64),
        post_likes=np.zeros(0, np.int32),
        post_comments=np.zeros(0, np.int32),
        post_media=np.zeros(0, np.int8),
        tag_post=np.zeros(0, np.int32),
        tag_id=np.zeros(0, np.int32),
        tag_name=_strings([]),
        inter_user=np.zeros(0, np.int32),
        inter_post=np.zeros(0, np.int32),
        inter_kind=np.zeros(0, np.int8),
        inter_time=np.zeros(0, np.int64),
        inter_value=np.zeros(0, np.float32),
    )
    _append(store, empty, accounts, since=-1, since_interaction=0, fresh=True)
    return empty


_POST_DTYPE = [
    ("id", "i8"),
    ("author", "i8"),
    ("taken", "i8"),
    ("likes", "i4"),
    ("comments", "i4"),
    ("media", "i1"),
]


def _extend(snap: Snapshot, name: str, values: np.ndarray) -> None:
    """Append to one array field in amortised O(len(values)): fields are views of buffers with
    spare capacity (:attr:`Snapshot.columns`), so a refresh that adds ten events does not
    copy a 50-million-row column."""
    if len(values):
        setattr(snap, name, snap.columns.append(name, getattr(snap, name), values))


def _append(
    store: Store,
    snap: Snapshot,
    accounts: IdIndex,
    *,
    since: int,
    since_interaction: int,
    fresh: bool = False,
    changed: set[str] | None = None,
) -> None:
    """Add rows written after change counter ``since`` to ``snap`` in place, and drop only the
    derived indexes that the new rows make stale."""
    changed = set() if changed is None else changed
    # follows: tombstones first, then (re-)added edges
    if not fresh:
        gone = _fetch(
            store,
            "SELECT src, dst FROM removed_follows WHERE seq > ?",
            [("s", "i8"), ("d", "i8")],
            (since,),
        )
        if len(gone):
            changed.add("follows")
            key = lambda s, d: s.astype(np.int64) * (len(accounts) + 1) + d  # noqa: E731
            gs, gd = accounts.lookup(gone["s"]), accounts.lookup(gone["d"])
            drop = np.isin(key(snap.follow_src, snap.follow_dst), key(gs, gd))
            snap.follow_src, snap.follow_dst = snap.follow_src[~drop], snap.follow_dst[~drop]
            snap.follow_time = snap.follow_time[~drop]
            valid = (gs >= 0) & (gd >= 0)
            snap.note_follow_changes(gs[valid], gd[valid], added=False)
    f = _fetch(
        store,
        # no ORDER BY: it would make SQLite scan the table instead of the seq index
        "SELECT src, dst, created_at FROM follows WHERE seq > ?",
        [("s", "i8"), ("d", "i8"), ("t", "i8")],
        (since,),
    )
    f = f[np.lexsort((f["d"], f["s"]))]
    src, dst = accounts.lookup(f["s"]), accounts.lookup(f["d"])
    ok = (src >= 0) & (dst >= 0)
    if not fresh and len(f):  # an edge that is re-stamped (not new) must not appear twice
        ok &= ~_known_edges(snap, src, dst, len(accounts), stale="follows" in changed)
    if ok.any():
        changed.add("follows")
        if not fresh:
            snap.note_follow_changes(src[ok], dst[ok], added=True)
    _extend(snap, "follow_src", src[ok].astype(np.int32))
    _extend(snap, "follow_dst", dst[ok].astype(np.int32))
    _extend(snap, "follow_time", f["t"][ok])

    # posts: updates in place, new ones appended
    p = _fetch(
        store,
        "SELECT id, COALESCE(author, -1), taken_at, like_count, comment_count, media_type"
        " FROM posts WHERE seq > ?",
        _POST_DTYPE,
        (since,),
    )
    p = p[np.argsort(p["id"], kind="stable")]
    old = snap.posts.lookup(p["id"]) if len(snap.post_id) else np.full(len(p), -1)
    upd = old >= 0
    if upd.any():  # counts of known posts change in place (copy-on-write: as_of views share)
        if not snap.post_likes.flags.writeable or not snap.columns.owns_counts:
            snap.post_likes, snap.post_comments = snap.post_likes.copy(), snap.post_comments.copy()
            snap.columns.owns_counts = True
        snap.post_likes[old[upd]] = p["likes"][upd]
        snap.post_comments[old[upd]] = p["comments"][upd]
    new = p[~upd]
    if len(new):
        changed.add("posts")
        snap.columns.owns_counts = False
        author = np.where(new["author"] < 0, -1, accounts.lookup(new["author"]))
        _extend(snap, "post_id", new["id"])
        _extend(snap, "post_author", author.astype(np.int32))
        _extend(snap, "post_taken", new["taken"])
        _extend(snap, "post_likes", new["likes"])
        _extend(snap, "post_comments", new["comments"])
        _extend(snap, "post_media", new["media"])
        snap.derived.drop("post_ids")  # the id index must include the new posts
    posts = snap.posts

    # hashtags: vocabulary ids are dense from 1, so the tag index is id - 1
    tags = store.query("SELECT id, tag FROM hashtags WHERE id > ? ORDER BY id", (snap.n_tags,))
    if tags:
        changed.add("tags")
    if tags:  # ids normally have no gaps; a gap (rolled-back writer) becomes an empty name
        names = [str(x) for x in snap.tag_name] + [""] * (tags[-1][0] - snap.n_tags)
        for hid, tag in tags:
            names[hid - 1] = tag
        snap.tag_name = _strings(names)
    pt = _fetch(
        store,
        "SELECT post, hashtag FROM post_hashtags WHERE seq > ?",
        [("p", "i8"), ("h", "i8")],
        (since,),
    )
    pidx = posts.lookup(pt["p"])
    ok = pidx >= 0
    _extend(snap, "tag_post", pidx[ok].astype(np.int32))
    _extend(snap, "tag_id", (pt["h"][ok] - 1).astype(np.int32))

    # interactions: append-only by id
    it = _fetch(
        store,
        "SELECT id, user, post, kind, created_at, COALESCE(value, 1.0) FROM interactions"
        " WHERE id > ? ORDER BY id",
        [("id", "i8"), ("u", "i8"), ("p", "i8"), ("k", "i1"), ("t", "i8"), ("v", "f4")],
        (since_interaction,),
    )
    if len(it):
        changed.add("interactions")
        u, q = accounts.lookup(it["u"]), posts.lookup(it["p"])
        ok = (u >= 0) & (q >= 0)
        _extend(snap, "inter_user", u[ok].astype(np.int32))
        _extend(snap, "inter_post", q[ok].astype(np.int32))
        _extend(snap, "inter_kind", it["k"][ok])
        _extend(snap, "inter_time", it["t"][ok])
        _extend(snap, "inter_value", it["v"][ok])
        snap.max_interaction_id = int(it["id"][-1])
    snap.counter = store.change_counter
    snap.now = _now(store, [snap.post_taken, snap.inter_time])
    if len(pt):
        changed.add("tags")
    snap.invalidate(changed)


def _known_edges(
    snap: Snapshot, src: np.ndarray, dst: np.ndarray, n: int, *, stale: bool
) -> np.ndarray:
    """Which ``(src, dst)`` pairs the snapshot already holds: a row lookup in the built follow
    graph (with its overlay) for a few edges, one sort-based ``isin`` for many."""
    graph = snap.derived.get("follow_graph")
    if stale or len(src) > 10_000 or graph is None:
        key = src.astype(np.int64) * (n + 1) + dst
        return np.isin(key, snap.follow_src.astype(np.int64) * (n + 1) + snap.follow_dst)
    return graph.contains(src, dst)  # type: ignore[no-any-return]


def refresh_snapshot(store: Store, snap: Snapshot) -> Snapshot:
    """Catch ``snap`` up with the store (in place when anything changed); returns it.

    All queries run in one read transaction, so a commit landing meanwhile is either wholly
    seen or left for the next refresh (never half applied)."""
    with read_consistently(store):
        return _refresh(store, snap)


def _refresh(store: Store, snap: Snapshot) -> Snapshot:
    if store.change_counter == snap.counter:
        return snap
    acc = sorted(
        store.query("SELECT id, handle, kind FROM accounts WHERE seq > ?", (snap.counter,))
    )
    known = snap.accounts.lookup(np.array([r[0] for r in acc], dtype=np.int64))
    acc = [r for r, k in zip(acc, known, strict=True) if k < 0]
    if acc:
        snap.account_id = np.concatenate([snap.account_id, [r[0] for r in acc]]).astype(np.int64)
        snap.handle = np.concatenate([snap.handle, _strings([r[1] for r in acc])])
        snap.account_kind = np.concatenate([snap.account_kind, [r[2] for r in acc]]).astype(np.int8)
    if acc:
        snap.derived.drop("account_ids")
    _append(
        store,
        snap,
        snap.accounts,
        since=snap.counter,
        since_interaction=snap.max_interaction_id,
        changed={"accounts"} if acc else set(),
    )
    return snap


def load_snapshot(store: Store, *, cache: bool = True) -> Snapshot:
    """Load the store into memory, reusing and updating the columnar cache when allowed."""
    path = cache_path(store) if cache else None
    store_id = store.get_meta("store_id") or ""
    snap = None
    if path is not None and path.exists():
        snap = _read_cache(path, store_id)
        if snap is not None and snap.counter > store.change_counter:
            snap = None  # the database was replaced by an older one
    if snap is None:
        with read_consistently(store):
            snap = _full(store)
        dirty = True
    else:
        dirty = snap.counter != store.change_counter
        refresh_snapshot(store, snap)
    if path is not None and dirty:
        _write_cache(path, snap, store_id)
    return snap


def _write_cache(path: Path, snap: Snapshot, store_id: str) -> None:
    """Write one ``.npy`` file per array into a fresh folder, then point ``current`` at it
    (``os.replace``: readers see the old or the new cache, never half of one) and remove the
    older folders (a process still mapping them keeps its pages: Linux unlinks lazily)."""
    root = path.parent
    root.mkdir(parents=True, exist_ok=True)
    name = f"c{snap.counter}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = root / f"tmp-{name}"
    tmp.mkdir()
    for key, value in snap.arrays().items():
        if isinstance(value, np.ndarray):
            np.save(tmp / f"{key}.npy", np.ascontiguousarray(value), allow_pickle=False)
    header = {
        "version": _CACHE_VERSION,
        "counter": snap.counter,
        "now": snap.now,
        "max_interaction_id": snap.max_interaction_id,
        "store_id": store_id,
    }
    (tmp / "header.json").write_text(json.dumps(header))
    tmp.rename(root / name)
    pointer = root / f"current.tmp-{name}"
    pointer.write_text(name)
    os.replace(pointer, path)
    for old in root.iterdir():
        if old.name != name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        elif old.name.startswith(("arrays", "current.tmp-")) and old.is_file():
            old.unlink(missing_ok=True)


def _read_cache(path: Path, store_id: str) -> Snapshot | None:
    """Open the cache with ``mmap_mode="r"``: loading a million-account world costs page-table
    work, not reading gigabytes; pages come in as the ranking touches them."""
    try:
        folder = path.parent / path.read_text().strip()
        header = json.loads((folder / "header.json").read_text())
        if header["version"] != _CACHE_VERSION or header["store_id"] != store_id:
            return None
        arrays: dict[str, Any] = {
            # np.asarray: a plain ndarray view of the mapping; indexing an np.memmap subclass
            # costs Python-level __getitem__/__array_finalize__ calls on every gather
            f.name: np.asarray(np.load(folder / f"{f.name}.npy", mmap_mode="r", allow_pickle=False))
            for f in fields(Snapshot)
            if not f.name.startswith("_") and f.name not in _SCALARS
        }
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        return None  # a damaged or partial cache is rebuilt, never trusted
    return Snapshot(
        counter=int(header["counter"]),
        now=int(header["now"]),
        max_interaction_id=int(header["max_interaction_id"]),
        **arrays,
    )


_SCALARS = ("counter", "now", "max_interaction_id")
