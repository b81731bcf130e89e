"""Training lists for the learned ranker, from three places:

* **a world's history** — its ``impression`` interactions (what each user was shown, and
  when): one list per user and day, features hydrated on the snapshot as it stood at the start
  of that day (:meth:`Snapshot.as_of`: nothing from later leaks in);
* **a server's impression log** (``impression_log``, written by the experiments' serving) —
  the same, from logged ``(account, post, served_at)``; the simulator's logs are impression
  logs too;
* **the engine's own candidates at a cut** — when nothing was logged (Last.fm): each user's
  timeline and explore candidates at the cut are the list.

Labels come from what the user did afterwards (:func:`~.learned.grade_labels`). An ALS model
used as a feature is trained per cut on that cut's snapshot, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import setops
from ..ranking import DefaultRanker, Pipeline, user_context
from ..settings import Settings
from ..snapshot import Snapshot
from ..store.model import KIND_CODE, POSITIVE_KINDS
from .fatigue import session_author_rank
from .features import FEATURES, hydrate
from .learned import Examples, grade_labels

if TYPE_CHECKING:
    from ..store import Store
    from .als import ALSParams, LoadedALS

__all__ = [
    "als_as_of",
    "engaged_users",
    "examples_at_cut",
    "examples_from_impressions",
    "impressions_of",
]

DAY = 86_400
Progress = Callable[[int, int], None]


def als_as_of(view: Snapshot, params: ALSParams | None = None) -> LoadedALS:
    """An in-memory ALS model trained on ``view`` (keys: the store ids), aligned to it."""
    from .als import LoadedALS, train_als

    keys = np.array([f"id:{i}" for i in view.account_id.tolist()])
    pkeys = np.array([f"id:{i}" for i in view.post_id.tolist()])
    model = train_als(view, keys, pkeys, params)
    users = np.array([int(k[3:]) for k in model.user_keys.tolist()], dtype=np.int64)
    posts = np.array([int(k[3:]) for k in model.post_keys.tolist()], dtype=np.int64)
    return LoadedALS(model, -int(view.counter) - 1, users, posts)


def _labels(
    snap: Snapshot, users: np.ndarray, posts: np.ndarray, times: np.ndarray, horizon: int
) -> np.ndarray:
    lo, hi = int(times.min()), int(times.max()) + horizon
    sel = (snap.inter_time > lo) & (snap.inter_time <= hi) & np.isin(snap.inter_user, users)
    return grade_labels(
        users, posts, times,
        snap.inter_user[sel], snap.inter_post[sel], snap.inter_kind[sel], snap.inter_time[sel],
        horizon,
    )  # fmt: skip


def _lists(
    view: Snapshot,
    per_user: Mapping[int, np.ndarray | None],
    at: int,
    settings: Settings,
    artifacts: Mapping[str, Any],
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per user: the list's posts, its feature rows, and the user (repeated). A list given as
    None is the user's timeline + explore candidates."""
    posts_out, values_out, users_out = [], [], []
    for user, shown in per_user.items():
        ctx = user_context(view, int(user), settings)
        run = Pipeline(ctx, DefaultRanker(), artifacts)
        pools = [run.pool("timeline"), run.pool("explore")]
        proposals = [c for pool in pools for c in pool.proposals]
        posts = setops.unique(np.concatenate([p.posts for p in pools])) if shown is None else shown
        if len(posts) == 0:
            continue
        fm = hydrate(ctx, posts, proposals, artifacts)
        posts_out.append(posts)
        values_out.append(fm.values)
        users_out.append(np.full(len(posts), int(user)))
    return posts_out, values_out, users_out


def engaged_users(snap: Snapshot, start: int, end: int) -> np.ndarray:
    """Users (sorted) who liked, commented or saved something in ``(start, end]``: the only
    ones whose lists at ``start`` can teach a ranker (a list with nothing engaged has no
    LambdaRank gradient and no NDCG), so a cut's lists are built for them alone."""
    kinds = [KIND_CODE[k] for k in POSITIVE_KINDS]
    m = (snap.inter_time > start) & (snap.inter_time <= end) & np.isin(snap.inter_kind, kinds)
    return setops.unique(snap.inter_user[m]).astype(np.int64)  # type: ignore[no-any-return]


def examples_at_cut(
    snap: Snapshot,
    cut: int,
    users: np.ndarray,
    horizon: int,
    settings: Settings | None = None,
    *,
    als: bool = True,
    als_params: ALSParams | None = None,
) -> Examples:
    """One list per user: their timeline and explore candidates at ``cut`` (features on the
    snapshot as of the cut, with an ALS model trained on it), graded by what they did in
    ``(cut, cut + horizon]``."""
    view = snap.as_of(cut)
    has = als and (view.inter_time <= cut).any()
    artifacts = {"als": als_as_of(view, als_params)} if has else {}
    s = settings or Settings()
    per_user: dict[int, np.ndarray | None] = {int(u): None for u in users}
    posts, values, owners = _lists(view, per_user, cut, s, artifacts)
    return _pack(snap, posts, values, owners, cut, horizon)


def _pack(
    snap: Snapshot,
    posts: list[np.ndarray],
    values: list[np.ndarray],
    owners: list[np.ndarray],
    at: int,
    horizon: int,
) -> Examples:
    if not posts:
        return Examples(
            FEATURES, np.zeros((0, len(FEATURES)), np.float32), *(np.zeros(0, np.int64),) * 3
        )
    p, u = np.concatenate(posts), np.concatenate(owners)
    times = np.full(len(p), at, np.int64)
    labels = _labels(snap, u, p, times, horizon)
    lists = np.concatenate([np.full(len(x), i) for i, x in enumerate(posts)])
    return Examples(FEATURES, np.vstack(values), labels, lists, times)


def examples_from_impressions(
    snap: Snapshot,
    users: np.ndarray,
    posts: np.ndarray,
    times: np.ndarray,
    horizon: int = DAY,
    settings: Settings | None = None,
    *,
    als: bool = True,
    progress: Progress | None = None,
) -> Examples:
    """Lists of shown posts (snapshot indexes ``users[i]`` saw ``posts[i]`` at ``times[i]``),
    one per user and day, features on the snapshot as of the day's start."""
    s = settings or Settings()
    users, posts = np.asarray(users, np.int64), np.asarray(posts, np.int64)
    times = np.asarray(times, np.int64)
    days = times // DAY
    # the session rank of each (user, day, post) at its first showing that day
    ranks = session_author_rank(users, snap.post_author[posts], times)
    first = np.lexsort((times, posts, users, days))
    key = np.stack([days, users, posts])[:, first]
    new = np.ones(len(first), dtype=bool)
    new[1:] = (key[:, 1:] != key[:, :-1]).any(axis=0)
    shown = (days[first][new], (users[first][new] << 32) | posts[first][new], ranks[first][new])
    parts: list[Examples] = []
    uniq = setops.unique(days)
    for n, day in enumerate(uniq.tolist()):
        at = day * DAY
        view = snap.as_of(at)
        artifacts = {"als": als_as_of(view)} if als and (view.inter_time <= at).any() else {}
        sel = days == day
        per_user = {
            int(u): setops.unique(posts[sel & (users == u)])
            for u in setops.unique(users[sel]).tolist()
        }
        p, v, o = _lists(view, per_user, at, s, artifacts)
        part = _pack(snap, p, v, o, at, horizon)
        if len(part):
            on_day = shown[0] == day
            keys = (np.concatenate(o) << 32) | np.concatenate(p)
            part.author_rank = shown[2][on_day][np.searchsorted(shown[1][on_day], keys)]
        parts.append(part)
        if progress is not None:
            progress(n + 1, len(uniq))
    parts = [p for p in parts if len(p)]
    if not parts:
        return _pack(snap, [], [], [], 0, horizon)
    return Examples.concat(parts)


def impressions_of(
    snap: Snapshot,
    store: Store | None = None,
    *,
    since: int | None = None,
    users: int = 300,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(users, posts, times)`` of what was shown: the store's ``impression_log`` when it has
    rows, else the snapshot's ``impression`` interactions (a generated world's history);
    at most ``users`` sampled users, impressions from ``since`` on."""
    from ..seed import child_rng

    rows = store.impressions() if store is not None and hasattr(store, "impressions") else []
    if rows:
        u = snap.accounts.lookup(np.array([r.account for r in rows], dtype=np.int64))
        p = snap.posts.lookup(np.array([r.post for r in rows], dtype=np.int64))
        t = np.array([r.served_at for r in rows], dtype=np.int64)
        ok = (u >= 0) & (p >= 0)
        u, p, t = u[ok], p[ok], t[ok]
    else:
        sel = snap.inter_kind == KIND_CODE["impression"]
        u, p, t = snap.inter_user[sel], snap.inter_post[sel], snap.inter_time[sel]
    if since is not None:
        keep = t >= since
        u, p, t = u[keep], p[keep], t[keep]
    who = setops.unique(u)
    if users and len(who) > users:
        who = np.sort(child_rng(seed, "ranker-users").choice(who, users, replace=False))
        keep = np.isin(u, who)
        u, p, t = u[keep], p[keep], t[keep]
    return u.astype(np.int64), p.astype(np.int64), t.astype(np.int64)
