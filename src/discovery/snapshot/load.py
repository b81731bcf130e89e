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
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from .. import setops
from ..store import Changes, Store
from ..store.events import read_consistently
from .arrays import IdIndex, Snapshot

__all__ = ["WITHDRAWN", "cache_path", "load_snapshot", "refresh_snapshot"]

#: ``inter_kind`` of an interaction withdrawn after it entered the snapshot (an unlike).
WITHDRAWN = -1

_CACHE_VERSION = 3


def cache_path(store: Store) -> Path | None:
    """Where the columnar cache of ``store`` lives (None for in-memory databases)."""
    if store.url.memory:
        return None
    return Path(str(store.path) + ".snapshot") / "current"


#: Data time-stamped further than this past the wall clock does not move "now" (seconds).
FUTURE_SLACK = 86_400


def _now(meta_now: int | None, snap_times: list[np.ndarray], *, wall_clock: bool = False) -> int:
    """The engine's clock: the store's ``now`` on a fixed clock (a generated world, an
    evaluation); the wall clock on a live store; else the latest time in the data — ignoring
    anything stamped more than a day past the wall clock, so one row dated 9999-12-31 cannot
    move every feed window into the future (such rows are reported, once per load, as a
    warning; ``discovery doctor`` finds them)."""
    if meta_now is not None:
        return meta_now
    wall = int(time.time())
    latest, beyond = [], 0
    for t in snap_times:
        if len(t):
            top = int(t.max())
            if top > wall + FUTURE_SLACK:
                beyond += int((t > wall + FUTURE_SLACK).sum())
                top = int(t[t <= wall + FUTURE_SLACK].max(initial=-(2**62)))
            latest.append(top)
    if beyond:
        warnings.warn(
            f"{beyond} rows are dated more than a day in the future; the clock ignores them"
            " (run `discovery doctor`)",
            stacklevel=3,
        )
    if wall_clock:
        return wall
    found = max(latest, default=-(2**62))
    return found if found > -(2**62) else wall


def _strings(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=np.str_) if values else np.zeros(0, dtype="<U1")


def _full(store: Store) -> Snapshot:
    """Read everything (the slow path, paid once per cache)."""
    ch = store.changes_since(-1)
    account_id = ch.accounts["id"].astype(np.int64)
    accounts = IdIndex.build(account_id)
    empty = Snapshot(
        counter=ch.counter,
        now=0,
        max_interaction_id=0,
        account_id=account_id,
        handle=_strings(ch.account_handles),
        account_kind=ch.accounts["kind"].astype(np.int8),
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
    _append(ch, empty, accounts, fresh=True)
    return empty


#: The array fields catch-ups append to (through :func:`_extend`).
GROWING = (
    *("follow_src", "follow_dst", "follow_time"),
    *("post_id", "post_author", "post_taken", "post_likes", "post_comments", "post_media"),
    *("post_removed", "tag_post", "tag_id"),
    *("inter_user", "inter_post", "inter_kind", "inter_time", "inter_value"),
)


def reserve_growth(snap: Snapshot) -> None:
    """Move the fields catch-ups append to into buffers with spare room now (a server's
    warm-up), rather than on the first catch-up: on the large world that copy of 50 million
    interaction rows (out of the memory-mapped cache) took 1–5 s under the first requests."""
    for name in GROWING:
        setattr(snap, name, snap.columns.reserve(name, getattr(snap, name)))


def _extend(snap: Snapshot, name: str, values: np.ndarray) -> None:
    """Append to one array field in amortised O(len(values)): fields are views of buffers with
    spare capacity (:attr:`Snapshot.columns`), so a refresh that adds ten events does not
    copy a 50-million-row column."""
    if len(values):
        setattr(snap, name, snap.columns.append(name, getattr(snap, name), values))


def _append(
    ch: Changes,
    snap: Snapshot,
    accounts: IdIndex,
    *,
    fresh: bool = False,
    changed: set[str] | None = None,
) -> None:
    """Add the rows of ``ch`` (read by :meth:`Store.changes_since`) to ``snap`` in place, and
    drop only the derived indexes that the new rows make stale."""
    changed = set() if changed is None else changed
    # follows: tombstones first, then (re-)added edges
    if not fresh:
        gone = ch.removed_follows
        if len(gone):
            changed.add("follows")
            key = lambda s, d: s.astype(np.int64) * (len(accounts) + 1) + d  # noqa: E731
            gs, gd = accounts.lookup(gone["s"]), accounts.lookup(gone["d"])
            drop = np.isin(key(snap.follow_src, snap.follow_dst), key(gs, gd))
            snap.follow_src, snap.follow_dst = snap.follow_src[~drop], snap.follow_dst[~drop]
            snap.follow_time = snap.follow_time[~drop]
            valid = (gs >= 0) & (gd >= 0)
            snap.note_follow_changes(gs[valid], gd[valid], added=False)
    f = ch.follows
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

    # posts: deletions first (a deleted row is never among ch.posts), then updates in place,
    # new ones appended
    if len(ch.removed_posts) and len(snap.post_id):
        gone = snap.posts.lookup(ch.removed_posts)
        gone = gone[gone >= 0]
        if len(gone):
            changed.add("posts")
            snap.columns.edited("posts")
            snap.columns.edited("tags")
            snap.post_removed = snap.post_removed.copy()  # copy-on-write: rare, and shared
            snap.post_removed[gone] = True
            _withdraw(snap, np.flatnonzero(np.isin(snap.inter_post, gone)))  # theirs went too
            changed.add("interactions")
            kept = ~np.isin(snap.tag_post, gone)  # and their hashtag links (an id re-added
            snap.tag_post, snap.tag_id = snap.tag_post[kept], snap.tag_id[kept]  # gets its own)
            changed.add("tags")
    p = ch.posts
    p = p[np.argsort(p["id"], kind="stable")]
    old = snap.posts.lookup(p["id"]) if len(snap.post_id) else np.full(len(p), -1)
    upd = old >= 0
    if upd.any():  # counts of known posts change in place (copy-on-write: as_of views share)
        if not snap.post_likes.flags.writeable or not snap.columns.owns_counts:
            snap.post_likes, snap.post_comments = snap.post_likes.copy(), snap.post_comments.copy()
            snap.columns.owns_counts = True
        snap.post_likes[old[upd]] = p["likes"][upd]
        snap.post_comments[old[upd]] = p["comments"][upd]
        was_gone = snap.post_removed[old[upd]]
        if was_gone.any():  # an id re-added after a delete: a new post under the old index
            back, rows = old[upd][was_gone], p[upd][was_gone]
            snap.post_removed = snap.post_removed.copy()
            snap.post_removed[back] = False
            author = np.where(rows["author"] < 0, -1, accounts.lookup(rows["author"]))
            for name, values in (
                ("post_author", author),
                ("post_taken", rows["taken"]),
                ("post_media", rows["media"]),
            ):
                column = getattr(snap, name).copy()
                column[back] = values
                setattr(snap, name, column)
            changed.add("posts")
            snap.columns.edited("posts")
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
        _extend(snap, "post_removed", np.zeros(len(new), dtype=bool))
    posts = snap.posts

    # hashtags: vocabulary ids are dense from 1, so the tag index is id - 1
    tags = ch.hashtags
    if tags:
        changed.add("tags")
    if tags:  # ids normally have no gaps; a gap (rolled-back writer) becomes an empty name
        names = [str(x) for x in snap.tag_name] + [""] * (tags[-1][0] - snap.n_tags)
        if tags[0][0] <= snap.n_tags:  # a gap filled: a name changed in place
            snap.columns.edited("tags")
        for hid, tag in tags:
            names[hid - 1] = tag
        snap.tag_name = _strings(names)
    gone = ch.removed_post_hashtags
    if len(gone):  # links an edited caption dropped (those it added come below)
        gp, gt = posts.lookup(gone["p"]), gone["h"] - 1
        keep = ~np.isin(
            snap.tag_post.astype(np.int64) * (snap.n_tags + 1) + snap.tag_id,
            gp[gp >= 0] * (snap.n_tags + 1) + gt[gp >= 0],
        )
        snap.tag_post, snap.tag_id = snap.tag_post[keep], snap.tag_id[keep]
        changed.add("tags")
        snap.columns.edited("tags")
    pt = ch.post_hashtags
    pidx = posts.lookup(pt["p"])
    ok = pidx >= 0
    _extend(snap, "tag_post", pidx[ok].astype(np.int32))
    _extend(snap, "tag_id", (pt["h"][ok] - 1).astype(np.int32))

    # withdrawn interactions (unlike, unsave, deleted upstream): before the new rows are
    # appended, since a row among those exists now (a like given again after an unlike)
    if len(ch.removed_interactions):
        w = ch.removed_interactions
        wu, wp = accounts.lookup(w["u"]), posts.lookup(w["p"])
        # positions from each user's own rows, not a mask over the whole log: three passes
        # over 51 M rows a catch-up (~0.1 s) saturated the large world's workers at 10
        # unlikes a second
        found = [np.zeros(0, np.int64)]
        for u, q, k in zip(wu.tolist(), wp.tolist(), w["k"].tolist(), strict=True):
            if u >= 0 and q >= 0:
                rows = snap.user_interactions(u)
                found.append(rows[(snap.inter_post[rows] == q) & (snap.inter_kind[rows] == k)])
        if _withdraw(snap, setops.unique(np.concatenate(found))):
            changed.add("interactions")

    # interactions: append-only by id
    it = ch.interactions
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
    snap.counter = ch.counter
    snap.now = _now(ch.now, [snap.post_taken, snap.inter_time], wall_clock=ch.clock == "wall")
    if len(pt):
        changed.add("tags")
    snap.invalidate(changed)


def _withdraw(snap: Snapshot, rows: np.ndarray) -> int:
    """Mark interaction ``rows`` (distinct positions) as withdrawn (kind :data:`WITHDRAWN`):
    positions stay stable for the indexes built on them, and no kind test matches them any
    more. Returns how many were not withdrawn already."""
    rows = rows[snap.inter_kind[rows] != WITHDRAWN].astype(np.int64)
    snap.withdraw(rows, WITHDRAWN)
    return len(rows)


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
    ch = store.changes_since(
        snap.counter, interaction_id=snap.max_interaction_id, tag_id=snap.n_tags
    )
    ids = ch.accounts["id"].astype(np.int64)
    known = snap.accounts.lookup(ids)
    new = known < 0
    changed = set()
    if (~new).any():  # a re-sync renamed an account, or changed its kind
        where = known[~new]
        handles = [h for h, n in zip(ch.account_handles, new.tolist(), strict=True) if not n]
        kinds = ch.accounts["kind"][~new].astype(np.int8)
        moved = (snap.handle[where] != np.array(handles, dtype=np.str_)) | (
            snap.account_kind[where] != kinds
        )
        if moved.any():
            snap.handle = snap.handle.astype(np.result_type(snap.handle, _strings(handles)))
            snap.handle[where[moved]] = np.array(handles, dtype=np.str_)[moved]
            snap.account_kind = snap.account_kind.copy()
            snap.account_kind[where[moved]] = kinds[moved]
            changed.add("accounts")
            snap.columns.edited("accounts")
    if new.any():
        snap.account_id = np.concatenate([snap.account_id, ids[new]]).astype(np.int64)
        snap.handle = np.concatenate(
            [snap.handle, _strings([h for h, n in zip(ch.account_handles, new, strict=True) if n])]
        )
        snap.account_kind = np.concatenate([snap.account_kind, ch.accounts["kind"][new]]).astype(
            np.int8
        )
        changed.add("accounts")
    _append(ch, snap, snap.accounts, changed=changed)
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
    name = f"c{snap.counter}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = root / f"tmp-{name}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    except OSError:
        return  # a read-only folder: the cache is an optimisation, the database still reads
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
