"""The Python API: ``Engine.open(db).feed("me")`` and friends.

The engine holds one snapshot (refreshed incrementally from the store) and answers feeds from
it: candidates from named sources → a ranker → filters → diversity and mixing → items with
reasons. Display fields (caption, image) are read from the store for the few items returned.
"""

from __future__ import annotations

import base64
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .feeds import Feed, FeedItem, Interest, Interests
from .ranking import (
    Candidates,
    UserContext,
    diversify,
    drop_unwanted,
    get_ranker,
    order_by_score,
    random_mix,
    reason_for,
    top_interests,
    user_context,
)
from .ranking import sources as src
from .settings import Settings
from .snapshot import Snapshot, load_snapshot, refresh_snapshot
from .store import NotFound, Store, to_iso

__all__ = ["FEED_KINDS", "Engine"]

FEED_KINDS = ("blend", "timeline", "explore", "interests")
EXPLORE_SOURCES = ("ppr_authors", "liked_by_followed", "hashtags")


class Engine:
    """Ranked, explained feeds over one database.

    Examples
    --------
    >>> engine = Engine.open("demo.db")  # doctest: +SKIP
    >>> engine.feed("me", k=10).to_frame()  # doctest: +SKIP
    """

    def __init__(self, store: Store, snapshot: Snapshot, settings: Settings | None = None) -> None:
        self.store = store
        self.snapshot = snapshot
        self.settings = settings or Settings()
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls, db: str | Path, *, settings: Settings | None = None, cache: bool = True
    ) -> Engine:
        """Open a database (it must exist) and load its snapshot."""
        store = Store.open(db, create=False)
        return cls(store, load_snapshot(store, cache=cache), settings)

    def refresh(self) -> bool:
        """Catch up with writes made since the snapshot; True when anything changed."""
        with self._lock:
            before = self.snapshot.counter
            refresh_snapshot(self.store, self.snapshot)
            return self.snapshot.counter != before

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

    def user_settings(self, user: int) -> Settings:
        """Settings for one user: the engine's, overridden by the user's saved weights."""
        saved = self.store.user_settings(int(self.snapshot.account_id[user]))
        weights = {k: v for k, v in saved.get("weights", {}).items() if k.startswith("w_")}
        return self.settings.replace(**weights) if weights else self.settings

    def context(self, user: str | int, settings: Settings | None = None) -> UserContext:
        u = self.user_index(user)
        s = settings or self.user_settings(u)
        saved = self.store.user_settings(int(self.snapshot.account_id[u]))
        blocked = [self.snapshot.account_index(h) for h in saved.get("blocked", [])]
        return user_context(self.snapshot, u, s, np.array([b for b in blocked if b >= 0]))

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
    ) -> Feed:
        """A ranked feed: ``kind`` in :data:`FEED_KINDS`; ``mix="random"`` is the tutorial's
        random sample of the timeline/discovery/interest pools. ``exclude`` holds post ids
        already shown (pagination)."""
        if kind not in FEED_KINDS:
            raise InputError(f"unknown feed kind {kind!r}; expected one of {', '.join(FEED_KINDS)}")
        if mix not in ("score", "random"):
            raise InputError(f"unknown mix {mix!r}; expected score or random")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        with self._lock:
            ctx = self.context(user, settings)
            rk = get_ranker(ranker)
            if exclude:
                ids = self.snapshot.posts.lookup(np.array(sorted(exclude), dtype=np.int64))
                ctx.seen = np.union1d(ctx.seen, ids[ids >= 0])
            if mix == "random":
                picks = self._random(ctx, rk, k)
            elif kind == "interests":
                picks = self._interest_items(ctx, rk, k)
            elif kind == "blend":
                picks = self._blend(ctx, rk, k)
            else:
                pool = self._pool(ctx, rk, kind)
                picks = self._select(ctx, pool, k)
            return self._feed(ctx, kind, rk.name, picks)

    # --------------------------------------------------------- internals
    def _gather(self, ctx: UserContext, names: tuple[str, ...]) -> list[Candidates]:
        out = []
        for name in names:
            source = src.SOURCES[name]()
            out.append(source.candidates(ctx))
        return out

    def _pool(self, ctx: UserContext, rk: Any, kind: str) -> dict[str, Any]:
        """Score every candidate of a feed kind; returns arrays plus per-post provenance."""
        discovery = kind == "explore"
        names = EXPLORE_SOURCES if discovery else ("following",)
        cands = self._gather(ctx, names)
        if discovery and sum(len(c.posts) for c in cands) < 30:
            cands += self._gather(ctx, ("popular",))
        provenance: dict[int, dict[str, Any]] = {}
        for c in cands:
            for p in c.posts:
                provenance.setdefault(int(p), {})[c.source] = c.evidence.get(int(p))
        posts = np.array(sorted(provenance), dtype=np.int64)
        posts = drop_unwanted(ctx, posts, discovery=discovery)
        scored = rk.score(ctx, posts, discovery=discovery)
        return {
            "posts": posts,
            "scores": scored.scores,
            "factors": scored.factors,
            "provenance": provenance,
        }

    def _select(self, ctx: UserContext, pool: dict[str, Any], k: int) -> list[dict[str, Any]]:
        posts, scores = pool["posts"], pool["scores"]
        order = order_by_score(scores, self.snapshot.post_id[posts])
        authors = self.snapshot.post_author[posts]
        per_author = max(1, math.ceil(ctx.settings.max_per_author * max(k, 10) / 10))
        chosen = diversify(order, authors, k, min(per_author, ctx.settings.max_per_author))
        return [self._pick(pool, i) for i in chosen]

    @staticmethod
    def _pick(pool: dict[str, Any], i: int) -> dict[str, Any]:
        p = int(pool["posts"][i])
        return {
            "post": p,
            "score": float(pool["scores"][i]),
            "factors": {name: float(v[i]) for name, v in pool["factors"].items()},
            "evidence": pool["provenance"][p],
        }

    def _blend(self, ctx: UserContext, rk: Any, k: int) -> list[dict[str, Any]]:
        """Timeline and explore candidates merged by score, each source capped at
        ``source_cap · k`` items, one item per post, authors limited as in every feed."""
        merged: dict[int, dict[str, Any]] = {}
        for kind in ("timeline", "explore"):
            pool = self._pool(ctx, rk, kind)
            for i in range(len(pool["posts"])):
                pick = self._pick(pool, i)
                prev = merged.get(pick["post"])
                if prev is None or pick["score"] > prev["score"]:
                    if prev is not None:
                        pick["evidence"] = {**prev["evidence"], **pick["evidence"]}
                    merged[pick["post"]] = pick
                else:
                    prev["evidence"].update(pick["evidence"])
        picks = sorted(
            merged.values(), key=lambda d: (-d["score"], self.snapshot.post_id[d["post"]])
        )
        cap = max(1, math.ceil(ctx.settings.source_cap * k))
        per_author = ctx.settings.max_per_author
        out: list[dict[str, Any]] = []
        used: dict[str, int] = {}
        authors: dict[int, int] = {}
        for d in picks:
            if len(out) >= k:
                break
            group = "following" if "following" in d["evidence"] else _primary(d["evidence"])
            a = int(self.snapshot.post_author[d["post"]])
            if used.get(group, 0) >= cap or (a >= 0 and authors.get(a, 0) >= per_author):
                continue
            used[group] = used.get(group, 0) + 1
            authors[a] = authors.get(a, 0) + 1
            out.append(d)
        if len(out) < k:  # caps left the feed short: fill with the best of the rest
            taken = {d["post"] for d in out}
            out += [d for d in picks if d["post"] not in taken][: k - len(out)]
        return out

    def _interest_items(self, ctx: UserContext, rk: Any, k: int) -> list[dict[str, Any]]:
        per_tag = self._best_per_interest(ctx, rk, n_tags=max(k, 10), per_tag=k)
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        depth = 0
        while len(out) < k and any(len(v) > depth for _, _, v in per_tag):
            for _, _, picks in per_tag:
                if depth < len(picks) and picks[depth]["post"] not in seen and len(out) < k:
                    seen.add(picks[depth]["post"])
                    out.append(picks[depth])
            depth += 1
        return out

    def _best_per_interest(
        self, ctx: UserContext, rk: Any, n_tags: int, per_tag: int
    ) -> list[tuple[int, float, list[dict[str, Any]]]]:
        """Best unseen recent posts for each interest hashtag, ranked as whole rows (the
        tutorial's ``groupby('tag').max()`` took each column's max from different posts)."""
        source = src.HashtagSource(n_tags)
        cands = source.candidates(ctx)
        posts = drop_unwanted(ctx, cands.posts, discovery=False)
        scored = rk.score(ctx, posts, discovery=True)
        pool = {
            "posts": posts,
            "scores": scored.scores,
            "factors": scored.factors,
            "provenance": {int(p): {"hashtags": cands.evidence[int(p)]} for p in posts},
        }
        tag_matrix = self.snapshot.post_tags_matrix()
        result = []
        for tag, weight in top_interests(ctx, n_tags):
            has = np.array(
                [
                    tag in tag_matrix.indices[tag_matrix.indptr[p] : tag_matrix.indptr[p + 1]]
                    for p in posts
                ],
                dtype=bool,
            )
            idx = np.flatnonzero(has)
            order = idx[order_by_score(scored.scores[idx], self.snapshot.post_id[posts[idx]])]
            picks = []
            for i in order[:per_tag]:
                pick = self._pick(pool, int(i))
                pick["evidence"] = {"hashtags": tag}
                picks.append(pick)
            result.append((tag, weight, picks))
        return result

    def _random(self, ctx: UserContext, rk: Any, k: int) -> list[dict[str, Any]]:
        pools = []
        everything: dict[int, dict[str, Any]] = {}
        for kind in ("timeline", "explore"):
            picks = self._select(ctx, self._pool(ctx, rk, kind), k)
            pools.append([d["post"] for d in picks])
            everything.update({d["post"]: d for d in picks})
        interest = self._interest_items(ctx, rk, k)
        pools.append([d["post"] for d in interest])
        everything.update({d["post"]: d for d in interest if d["post"] not in everything})
        return [everything[p] for p in random_mix(pools, k, ctx.settings.seed)]

    # ------------------------------------------------------------ items
    def _feed(self, ctx: UserContext, kind: str, ranker: str, picks: list[dict[str, Any]]) -> Feed:
        snap = self.snapshot
        items = self._items(ctx, picks)
        return Feed(
            user=str(snap.handle[ctx.user]),
            kind=kind,
            now=to_iso(snap.now),
            ranker=ranker,
            items=items,
            settings=ctx.settings.fingerprint(),
            image_src=self.image_data_uri,
        )

    def _items(self, ctx: UserContext, picks: list[dict[str, Any]]) -> list[FeedItem]:
        snap = self.snapshot
        ids = [int(snap.post_id[d["post"]]) for d in picks]
        details = self.store.post_details(ids)
        items = []
        for rank, (d, pid) in enumerate(zip(picks, ids, strict=True), start=1):
            p = d["post"]
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
                    score=d["score"],
                    factors=d["factors"],
                    sources=sorted(d["evidence"]),
                    reason=reason_for(
                        list(d["evidence"]),
                        d["evidence"],
                        author,
                        d["factors"],
                        lambda i: str(snap.handle[i]),
                        lambda t: str(snap.tag_name[t]),
                    ),
                    caption=info.get("caption", ""),
                    image=info.get("image"),
                    media_type=info.get("media_type", "photo"),
                    rank=rank,
                )
            )
        return items

    def interests(self, user: str | int, k: int = 10, per_tag: int = 3) -> Interests:
        """Top hashtags from liked and tagged posts (IDF-weighted) and the best posts for each."""
        with self._lock:
            ctx = self.context(user)
            rk = get_ranker("default")
            out = []
            for tag, weight, picks in self._best_per_interest(ctx, rk, k, per_tag):
                out.append(
                    Interest(str(self.snapshot.tag_name[tag]), weight, self._items(ctx, picks))
                )
            return Interests(str(self.snapshot.handle[ctx.user]), to_iso(self.snapshot.now), out)

    def post_index(self, post_id: int) -> int:
        idx = int(self.snapshot.posts.lookup(int(post_id))[0])
        if idx < 0:
            raise NotFound(f"no post with id {post_id}")
        return idx

    def explain(self, user: str | int, post_id: int) -> dict[str, Any]:
        """Every factor of ``post_id`` for ``user``, under both rankers, and where it came from:
        which sources propose the post, which filters would drop it, and the reason."""
        from .ranking.affinity import hop_distance

        with self._lock:
            ctx = self.context(user)
            snap, s = self.snapshot, ctx.settings
            p = self.post_index(post_id)
            a = int(snap.post_author[p])
            author = str(snap.handle[a]) if a >= 0 else None
            followed = a >= 0 and bool(ctx.follows_mask()[a])
            posts = np.array([p])
            evidence: dict[str, Any] = {}
            for c in self._gather(ctx, ("following", *EXPLORE_SOURCES, "popular")):
                if p in set(c.posts.tolist()):
                    evidence[c.source] = c.evidence.get(p)
            filters = {
                "own post": a == ctx.user,
                "already seen": bool(np.isin(p, ctx.seen)),
                "hidden": bool(np.isin(p, ctx.hidden)),
                "author blocked": bool(np.isin(a, ctx.blocked)),
                "followed author (explore only)": followed,
                f"older than {s.window_days:g} days": bool(
                    snap.post_taken[p] < snap.now - s.window_days * 86_400
                ),
            }
            rankers: dict[str, dict[str, Any]] = {}
            for name in ("default", "tutorial"):
                scored = get_ranker(name).score(ctx, posts, discovery=not followed)
                rankers[name] = {
                    "score": float(scored.scores[0]),
                    "factors": {k: float(v[0]) for k, v in scored.factors.items()},
                }
            d = rankers["default"]["factors"]
            n_following = len(ctx.following)
            origins = {
                "recency": f"2^(-age / {s.half_life_hours:g} h); age "
                f"{(snap.now - snap.post_taken[p]) / 3600:.1f} h",
                "popularity": f"smoothed (likes + 2·comments) per follower of the author: "
                f"{snap.post_likes[p]} likes, {snap.post_comments[p]} comments, "
                f"{int(ctx.stats.in_degree[a]) if a >= 0 else 0} followers, "
                f"{int(ctx.stats.clicks[p])} clicks logged",
                "affinity": f"noisy-or of PPR {d['ppr']:.3g} (mode {s.ppr_mode}, alpha {s.alpha}, "
                f"{'weighted' if s.weighted_edges else 'unweighted'} follow graph, you follow "
                f"{n_following}) and your {int(d['weight'])} likes of @{author}'s posts in 365 days",
                "interest": "cosine of your hashtag profile and the post's tags: "
                + ", ".join(
                    f"#{snap.tag_name[t]}"
                    for t in snap.post_tags_matrix()[p].indices  # type: ignore[union-attr]
                ),
                "demote": f"{s.hidden_author_penalty}^(posts of @{author} you hid: "
                f"{ctx.hidden_authors.get(a, 0)})",
                "weight": "the tutorial's weight: your likes on the author's posts, 0.5 when none",
                "time_score": "exp(-(now - taken_at) / 1e5 s)",
                "ppr": "personalized PageRank of the author from you",
            }
            hops = int(hop_distance(ctx, np.array([max(a, 0)]))[0]) if a >= 0 else None
            reason = reason_for(
                list(evidence) or ["popular"],
                evidence,
                author,
                rankers["default"]["factors"],
                lambda i: str(snap.handle[i]),
                lambda t: str(snap.tag_name[t]),
            )
            return {
                "user": str(snap.handle[ctx.user]),
                "post_id": int(post_id),
                "author": author,
                "taken_at": to_iso(snap.post_taken[p]),
                "hops": hops,
                "sources": {k: _jsonable(v, snap) for k, v in evidence.items()},
                "filtered_by": [name for name, hit in filters.items() if hit],
                "rankers": rankers,
                "weights": s.weights(),
                "origins": origins,
                "reason": reason,
            }

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


def _jsonable(value: Any, snap: Snapshot) -> Any:
    """Evidence as JSON: likers become handles, tags become names."""
    if isinstance(value, list):
        return [str(snap.handle[i]) for i in value]
    if isinstance(value, tuple):
        return {"ppr": value[0], "hops": value[1]}
    if isinstance(value, int | np.integer):
        return f"#{snap.tag_name[int(value)]}"
    return value


def _primary(evidence: dict[str, Any]) -> str:
    from .ranking.reasons import SOURCE_PRIORITY

    for name in SOURCE_PRIORITY:
        if name in evidence:
            return name
    return next(iter(evidence), "other")
