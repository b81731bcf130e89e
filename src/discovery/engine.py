"""The Python API: ``Engine.open(db).feed("me")`` and friends.

The engine holds one snapshot (refreshed incrementally from the store) and answers feeds from
it: candidates from named sources → a ranker → filters → diversity and mixing → items with
reasons. Display fields (caption, image) are read from the store for the few items returned.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import setops
from .embeddings.similar import VectorCache, similar_evidence
from .errors import InputError
from .feeds import Feed, FeedItem, Interest, Interests
from .feeds.network import ego_network
from .ranking import UserContext, get_ranker, reason_for
from .ranking.affinity import ppr_state
from .ranking.batch import FeedRequest, UserPrefs, context_for, recommend
from .ranking.evidence import Names
from .ranking.explain import explain_post
from .ranking.feedkinds import PUBLIC_KINDS
from .ranking.picks import Pick
from .ranking.pipeline import best_per_interest
from .ranking.precomputed import StoredList
from .ranking.similar import similar_posts
from .settings import Settings
from .signals.clusters import snapshot_clusters, use_tag_vectors
from .snapshot import Snapshot, load_snapshot, refresh_snapshot
from .snapshot.rebuild import Rebuilder
from .store import NotFound, Store, StoreError, to_iso

__all__ = ["FEED_KINDS", "Engine"]

#: The feed kinds a client can ask for (declared in :mod:`discovery.ranking.feedkinds`).
FEED_KINDS = PUBLIC_KINDS
#: How long a stored list read for one request serves the next ones at the same counter.
LIST_MEMO_SECONDS = 5.0
#: Member tags an interest lists besides its head (most used first).
MEMBERS_SHOWN = 20


class Engine:
    """Ranked, explained feeds over one database.

    Examples
    --------
    >>> engine = Engine.open("demo.db")  # doctest: +SKIP
    >>> engine.feed("me", k=10).to_frame()  # doctest: +SKIP
    """

    def __init__(
        self,
        store: Store,
        snapshot: Snapshot,
        settings: Settings | None = None,
        artifacts: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.snapshot = snapshot
        self.settings = settings or Settings()
        #: Trained models handed to the source and ranker factories (see ranking.registry).
        self.artifacts: Mapping[str, Any] = artifacts or {}
        # hashtag name vectors (discovery embed --text) join the snapshot's clusters
        use_tag_vectors(snapshot, self.artifacts.get("tag_vectors"))
        self._lock = threading.RLock()
        #: Explore and blend feeds served from stored candidate lists, and from the sources.
        self.candidate_counts = {"precomputed": 0, "online": 0}
        #: A live store runs on the wall clock: each request ranks at the time it is made.
        self.wall_clock = store.clock() == "wall"
        #: Post embeddings (``discovery embed``), caught up with the store on each use.
        self.vectors = VectorCache()
        #: ``(user, snapshot counter) -> (read at, computed at, list)`` (:meth:`_stored_list`).
        self._lists: dict[tuple[int, int], tuple[float, float, StoredList | None]] = {}
        #: Rebuilds lag-stale structures off the request path once :meth:`rebuild_beside` ran.
        self.rebuilder: Rebuilder | None = None

    @classmethod
    def open(
        cls,
        db: str | Path,
        *,
        settings: Settings | None = None,
        cache: bool = True,
        artifacts: Mapping[str, Any] | None = None,
    ) -> Engine:
        """Open a store (a path or URL; it must exist) and load its snapshot. ``artifacts``
        are trained models for the source and ranker factories (see ranking.registry)."""
        store = Store.open(db, create=False)
        if artifacts is None:  # the models trained on this store (discovery train als/ranker)
            from .signals.loading import load_artifacts

            artifacts = load_artifacts(store)
        return cls(store, load_snapshot(store, cache=cache), settings, artifacts)

    def refresh(self) -> bool:
        """Catch up with writes made since the snapshot; True when anything changed."""
        with self._lock:
            before = self.snapshot.counter
            refresh_snapshot(self.store, self.snapshot)
            if self.snapshot.counter != before:
                self.wall_clock = self.store.clock() == "wall"
            if self.rebuilder is not None:
                self.rebuilder.poke(self.snapshot)
            return self.snapshot.counter != before

    def rebuild_beside(self, turns: Any = None, nice: int = 0) -> Rebuilder:
        """From now on, rebuild the structures whose lag ran out on a background thread and
        swap them in, instead of on the first request that needs them (a server's choice: see
        :mod:`discovery.snapshot.rebuild`); each rebuild holds ``turns`` (a context manager:
        a server's :class:`~discovery.snapshot.turns.MachineTurns`) while it runs, at ``nice``
        below the requests' priority (Linux). Returns the :class:`Rebuilder`."""
        with self._lock:
            if self.rebuilder is None:
                self.snapshot.derived.beside = True
                self.rebuilder = Rebuilder(self._lock, turns, nice)
            return self.rebuilder

    def ppr_cache_stats(self) -> dict[str, int]:
        """PPR look-ups since the snapshot was loaded: ``hit`` (vector of the current graph),
        ``kept`` (of an older graph, within ``ppr_stale_l1``), ``miss`` (computed)."""
        cache = ppr_state(self.snapshot).cache
        return {"hit": cache.hits - cache.kept, "kept": cache.kept, "miss": cache.misses}

    def request_artifacts(self) -> Mapping[str, Any]:
        """The artifacts one request ranks with: the engine's, plus the post vectors
        (``"vectors"``: model name → :class:`~discovery.embeddings.similar.PostVectors`) once
        ``discovery embed`` stored any, caught up with the store (new rows only), for the
        ``embedding`` source and the learned ranker's features. Vectors given to the
        constructor win; a store without vectors leaves the artifacts as they were."""
        if "vectors" in self.artifacts:
            return self.artifacts
        vectors = self.vectors.refresh(self.store)
        return {**self.artifacts, "vectors": vectors} if vectors else self.artifacts

    @property
    def media_dir(self) -> Path:
        return Path(str(self.store.path) + ".media")

    # ----------------------------------------------------------- users
    def user_index(self, user: str | int) -> int:
        if isinstance(user, int | np.integer):
            if not 0 <= int(user) < self.snapshot.n_accounts:
                raise NotFound(f"no account with index {user}")
            return int(user)
        idx = self.snapshot.account_index(str(user))
        if idx < 0:
            raise NotFound(f"no account with handle {user!r}")
        return idx

    def prefs(self, user: int) -> UserPrefs:
        """What account index ``user`` saved that ranking honours (one store read)."""
        return UserPrefs.from_saved(self.store.user_settings(int(self.snapshot.account_id[user])))

    def user_settings(self, user: int, saved: dict[str, Any] | None = None) -> Settings:
        """Settings for one user: the engine's, overridden by the user's saved weights."""
        prefs = self.prefs(user) if saved is None else UserPrefs.from_saved(saved)
        return prefs.settings(self.settings)

    def context(self, user: str | int, settings: Settings | None = None) -> UserContext:
        """The ranking context of ``user``: the snapshot plus what they saved and their fresh
        stored candidate list with its PageRank (read once); ranking itself never reads the
        store (see :mod:`discovery.ranking.batch`)."""
        if self.wall_clock:
            self.snapshot.now = int(time.time())
        u = self.user_index(user)
        ctx = context_for(self.snapshot, u, self.settings, self.prefs(u), override=settings)
        ctx.precomputed = self._stored_list(ctx)
        return ctx

    # ----------------------------------------------------------- feeds
    def timeline(self, user: str | int, k: int = 10, ranker: str = "default", **kw: Any) -> Feed:
        """Recent posts of followed accounts, ranked."""
        return self.feed(user, k=k, kind="timeline", ranker=ranker, **kw)

    def explore(self, user: str | int, k: int = 10, ranker: str = "default", **kw: Any) -> Feed:
        """Posts from accounts the user does not follow yet but is close to."""
        return self.feed(user, k=k, kind="explore", ranker=ranker, **kw)

    def feed(
        self,
        user: str | int,
        k: int = 10,
        kind: str = "blend",
        ranker: str = "default",
        mix: str = "score",
        settings: Settings | None = None,
        exclude: set[int] | None = None,
        open_block: Sequence[int] | None = None,
    ) -> Feed:
        """A ranked feed: ``kind`` in :data:`FEED_KINDS`; ``mix="random"`` is the tutorial's
        random sample of the timeline/discovery/interest pools. ``exclude`` holds post ids
        already shown (pagination); ``open_block``, in order, those of them served in the
        block of ten still open, so the author rule continues exactly (without it each
        author is charged as much as the shown posts could hold)."""
        feed, _ = self.feed_in_context(user, k, kind, ranker, mix, settings, exclude, open_block)
        return feed

    def feed_in_context(
        self,
        user: str | int,
        k: int = 10,
        kind: str = "blend",
        ranker: str = "default",
        mix: str = "score",
        settings: Settings | None = None,
        exclude: set[int] | None = None,
        open_block: Sequence[int] | None = None,
    ) -> tuple[Feed, UserContext]:
        """:meth:`feed`, and the context it was ranked in: what a caller holding the lock needs
        to describe the served items in the same user state without building it again (the
        impression log's features, :func:`discovery.signals.features.served_features`)."""
        request = FeedRequest(kind, k, ranker, mix)
        request.check()
        with self._lock:
            ctx = self.context(user, settings)
            if exclude:  # the earlier pages: filtered out, and counted by the author rule
                ids = self.snapshot.posts.lookup(np.array(sorted(exclude), dtype=np.int64))
                ctx.shown, ctx.n_shown = setops.unique(ids[ids >= 0]), len(exclude)
            if open_block is not None:
                ids = self.snapshot.posts.lookup(np.array(list(open_block), dtype=np.int64))
                ctx.open_block = ids
            if mix != "score":  # the tutorial's random sample ranks nothing
                ctx.precomputed = None
            elif kind in ("explore", "blend"):
                self.candidate_counts["precomputed" if ctx.precomputed else "online"] += 1
            name, picks = recommend(ctx, request, self.request_artifacts())
            return self._feed(ctx, kind, name, picks), ctx

    def _stored_list(self, ctx: UserContext) -> StoredList | None:
        """The user's explore list from ``discovery batch candidates`` when it is younger
        than ``precomputed_max_age``, else None: one indexed read, kept for a few seconds at
        one snapshot counter, so the contexts of one request (the feed, then its
        impressions' features) read and decode it once and none of them runs PageRank."""
        max_age = ctx.settings.precomputed_max_age
        if max_age <= 0:
            return None
        now, key = time.time(), (ctx.user, self.snapshot.counter)
        held = self._lists.get(key)
        if held is None or now - held[0] > LIST_MEMO_SECONDS:
            if len(self._lists) >= 256:  # a few requests' worth; any write moves the
                self._lists.clear()  # counter, which makes older entries useless anyway
            held = self._lists[key] = (now, *self._read_list(ctx))
        _, computed_at, stored = held
        if stored is None or now - computed_at > max_age:
            return None
        # a follow since the list was computed: its PageRank no longer holds for this user
        return stored if stored.covers(ctx.following) else None

    def _read_list(self, ctx: UserContext) -> tuple[float, StoredList | None]:
        """``(computed_at, list)`` of the user's stored explore list, ``(0, None)`` when
        there is none or it is damaged (not written by this package: served online)."""
        try:
            found = self.store.precomputed_lists(
                "explore", [int(self.snapshot.account_id[ctx.user])]
            )
        except StoreError:
            return 0.0, None
        if not found:
            return 0.0, None
        return found[0].computed_at, StoredList.from_list(self.snapshot, found[0])

    # ------------------------------------------------------------ items
    def _feed(self, ctx: UserContext, kind: str, ranker: str, picks: list[Pick]) -> Feed:
        snap = self.snapshot
        items = self._items(picks)
        return Feed(
            user=str(snap.handle[ctx.user]),
            kind=kind,
            now=to_iso(snap.now),
            ranker=ranker,
            items=items,
            settings=ctx.settings.fingerprint(),
            image_src=self.image_data_uri,
        )

    def _items(self, picks: list[Pick]) -> list[FeedItem]:
        snap = self.snapshot
        names = Names.of(snap)
        ids = [int(snap.post_id[d.post]) for d in picks]
        details = self.store.post_details(ids)
        items = []
        for rank, (d, pid) in enumerate(zip(picks, ids, strict=True), start=1):
            p = d.post
            a = int(snap.post_author[p])
            author = str(snap.handle[a]) if a >= 0 else None
            info = details.get(pid, {})
            items.append(
                FeedItem(
                    post_id=pid,
                    author=author,
                    taken_at=to_iso(snap.post_taken[p]),
                    like_count=int(snap.post_likes[p]),
                    comment_count=int(snap.post_comments[p]),
                    score=d.score,
                    factors=d.factors,
                    sources=d.sources,
                    reason=reason_for(d.evidence, author, d.factors, names),
                    caption=info.get("caption", ""),
                    image=info.get("image"),
                    media_type=info.get("media_type", "photo"),
                    rank=rank,
                )
            )
        return items

    def interests(self, user: str | int, k: int = 10, per_tag: int = 3) -> Interests:
        """Top interests from liked and tagged posts (IDF-weighted hashtag clusters, each named
        by its head tag and listing up to :data:`MEMBERS_SHOWN` other member tags) and the
        best posts for each."""
        with self._lock:
            ctx = self.context(user)
            artifacts = self.request_artifacts()
            rk = get_ranker("default", ctx.settings, artifacts)
            clusters = snapshot_clusters(self.snapshot)
            names = self.snapshot.tag_name
            out = []
            for row in best_per_interest(ctx, rk, k, per_tag, artifacts):
                others = [int(t) for t in clusters.members_of(row.tag) if t != row.tag]
                members = [str(names[t]) for t in others[:MEMBERS_SHOWN]]
                tag = str(names[row.tag])
                out.append(Interest(tag, row.weight, self._items(row.picks), members))
            return Interests(str(self.snapshot.handle[ctx.user]), to_iso(self.snapshot.now), out)

    def post_index(self, post_id: int) -> int:
        idx = int(self.snapshot.posts.lookup(int(post_id))[0])
        if idx < 0 or self.snapshot.post_removed[idx]:
            raise NotFound(f"no post with id {post_id}")
        return idx

    def explain(self, user: str | int, post_id: int) -> dict[str, Any]:
        """Every factor of ``post_id`` for ``user``, under both rankers, and where it came from:
        which sources propose the post, which filters would drop it, and the reason."""
        with self._lock:
            ctx, p = self.context(user), self.post_index(post_id)
            return explain_post(ctx, p, self.request_artifacts())

    def post(self, post_id: int) -> dict[str, Any]:
        """One post as data: counts, author, caption, image, hashtags."""
        with self._lock:
            snap = self.snapshot
            p = self.post_index(post_id)
            a = int(snap.post_author[p])
            info = self.store.post_details([int(post_id)]).get(int(post_id), {})
            tags = snap.post_tags_matrix()[p].indices
            return {
                "post_id": int(post_id),
                "author": str(snap.handle[a]) if a >= 0 else None,
                "taken_at": to_iso(snap.post_taken[p]),
                "like_count": int(snap.post_likes[p]),
                "comment_count": int(snap.post_comments[p]),
                "caption": info.get("caption", ""),
                "image": info.get("image"),
                "media_type": info.get("media_type", "photo"),
                "hashtags": sorted(str(snap.tag_name[t]) for t in tags),
            }

    def similar(self, post_id: int, k: int = 10) -> Feed:
        """Posts like ``post_id``: image and caption embeddings where ``discovery embed`` made
        them, shared hashtags, authors followed by the same people."""
        with self._lock:
            snap = self.snapshot
            p = self.post_index(post_id)
            vectors = list(self.vectors.refresh(self.store).values())
            posts, scores, factors = similar_posts(snap, p, k, vectors=vectors)
            shared = set(snap.post_tags_matrix()[p].indices.tolist())
            picks: list[Pick] = []
            for i, q in enumerate(posts):
                common = sorted(set(snap.post_tags_matrix()[q].indices.tolist()) & shared)
                tags = tuple(sorted(str(snap.tag_name[t]) for t in common)[:3])
                picks.append(
                    Pick(
                        post=int(q),
                        score=float(scores[i]),
                        factors={n: float(v[i]) for n, v in factors.items()},
                        evidence={"similar": similar_evidence(tags, factors, i)},
                    )
                )
            author = snap.post_author[p]
            user = str(snap.handle[author]) if author >= 0 else ""
            feed = Feed(
                user=user,
                kind="similar",
                now=to_iso(snap.now),
                ranker="similar",
                items=self._items(picks),
                settings=self.settings.fingerprint(),
                image_src=self.image_data_uri,
            )
            return feed

    def ego_network(self, user: str | int, depth: int = 2, max_nodes: int = 150) -> dict[str, Any]:
        """The user's 1st/2nd-degree network with PPR (see :func:`feeds.network.ego_network`)."""
        if depth not in (1, 2, 3):
            raise InputError(f"depth must be 1, 2 or 3, got {depth}")
        if not 2 <= max_nodes <= 2000:
            raise InputError(f"max_nodes must be between 2 and 2000, got {max_nodes}")
        with self._lock:
            return ego_network(self.context(user), depth, max_nodes)

    def image_data_uri(self, item: FeedItem) -> str | None:
        """The item's image as a ``data:`` URI (media files) or its http(s) URL."""
        if not item.image:
            return None
        if item.image.startswith(("http://", "https://")):
            return item.image
        path = (self.media_dir / item.image).resolve()
        if self.media_dir.resolve() not in path.parents or not path.is_file():
            return None
        mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
