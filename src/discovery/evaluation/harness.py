"""Run strategies over the folds of a temporal hold-out and measure them with intervals.

For every fold (:func:`~discovery.evaluation.split.make_folds`) each strategy is fitted on the
training view and asked for ``k`` posts for every sampled user with something to find in that
fold. Per-list metrics are averaged over a user's folds, so the user is the unit of the
bootstrap; global metrics (coverage, author Gini, fraction of the oracle) are recomputed from
the same resamples, so intervals of different strategies are paired.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import setops
from ..seed import child_rng
from ..settings import Settings
from ..snapshot import Snapshot, load_snapshot
from ..store import Store
from ..store.model import KIND_CODE, POSITIVE_KINDS
from . import metrics as m
from .split import Fold, make_folds
from .strategies import Training, make_strategy

__all__ = ["DEFAULT_STRATEGIES", "METRICS", "Evaluation", "Protocol", "evaluate", "evaluate_folds"]

DAY = 86_400
DEFAULT_STRATEGIES = (
    "random",
    "popular",
    "recency",
    "timeline",
    "ppr_authors",
    "liked_by_followed",
    "hashtags",
    "tutorial",
    "als",
    "blend",
)

#: Metric name → (what it is, higher is better?). Order is the report's column order.
METRICS: dict[str, tuple[str, bool]] = {
    "precision": ("precision@k", True),
    "recall": ("recall@k", True),
    "ndcg": ("NDCG@k (binary gains)", True),
    "map": ("MAP@k", True),
    "hit_rate": ("share of users with at least one hit in the top k", True),
    "coverage": ("share of the catalog recommended to someone (mean over folds)", True),
    "diversity": ("intra-list distance: by topic (synthetic) or 1 - hashtag cosine", True),
    "novelty": ("mean self-information -log2((users who engaged + 1) / (users + 1))", True),
    "author_top_share": ("largest share of one author in a feed (mean over feeds)", False),
    "author_gini": ("Gini of recommendation slots over the catalog's authors", False),
    "fresh_share": ("share of recommended posts published after the cut", True),
    "oracle_fraction": ("NDCG@k as a fraction of the oracle's (synthetic world)", True),
}
_PER_LIST: tuple[str, ...] = ("precision", "recall", "ndcg", "map", "hit_rate", "diversity")
_PER_LIST += ("novelty", "author_top_share", "fresh_share")


@dataclass(frozen=True)
class Protocol:
    """How the hold-out is cut and measured (every field is reported)."""

    holdout: int = 7 * DAY
    step: int = DAY
    k: int = 10
    inventory: str = "step"
    users: int = 200
    seed: int = 42
    end: int | None = None
    samples: int = 1000
    kinds: tuple[str, ...] = POSITIVE_KINDS


@dataclass
class Evaluation:
    """Results: ``metrics[strategy][metric] = (value, low, high)`` (95 % bootstrap interval)."""

    dataset: str
    protocol: Protocol
    settings: dict[str, Any]
    strategies: list[str]
    describe: dict[str, str]
    metrics: dict[str, dict[str, tuple[float, float, float]]]
    feeds: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "protocol": asdict(self.protocol),
            "settings": self.settings,
            "strategies": self.strategies,
            "describe": self.describe,
            "metrics": {
                s: {
                    k: {"value": _num(v[0]), "low": _num(v[1]), "high": _num(v[2])}
                    for k, v in row.items()
                }
                for s, row in self.metrics.items()
            },
            "feeds": {s: {k: _num(v) for k, v in row.items()} for s, row in self.feeds.items()},
            "info": self.info,
        }


Progress = Callable[[str, int, int], None]


def _num(x: float) -> float | None:
    """JSON has no NaN: a metric that does not apply (no feeds, no authors) is null."""
    return None if x != x else round(float(x), 6)


def evaluate(
    store: Store,
    strategies: tuple[str, ...] | list[str] = DEFAULT_STRATEGIES,
    protocol: Protocol | None = None,
    settings: Settings | None = None,
    *,
    dataset: str = "",
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate ``strategies`` on ``store`` under ``protocol`` (see the module docstring).

    The oracle is added automatically on a synthetic world (a store with meta ``world``).
    """
    protocol = protocol or Protocol()
    settings = settings or Settings()
    full = load_snapshot(store)
    truth = None
    if store.get_meta("world") is not None:
        from ..world import load_truth

        truth = load_truth(store)
    folds = make_folds(
        full,
        holdout=protocol.holdout,
        step=protocol.step,
        window=settings.window_days,
        inventory=protocol.inventory,
        end=protocol.end,
        kinds=protocol.kinds,
    )
    names = list(dict.fromkeys(strategies))
    if truth is not None and "oracle" not in names:
        names.append("oracle")
    ev = evaluate_folds(
        full, folds, names, protocol, settings, store=store, truth=truth, dataset=dataset,
        progress=progress,
    )  # fmt: skip
    ev.info["data"] = {
        "accounts": full.n_accounts,
        "posts": full.n_posts,
        "follows": len(full.follow_src),
        "interactions": len(full.inter_kind),
        "source": store.get_meta("generator") or store.get_meta("dataset") or "",
    }
    return ev


def _sample_users(folds: list[Fold], n: int, seed: int) -> np.ndarray:
    users = np.array(sorted({u for f in folds for u in f.relevant}), dtype=np.int64)
    if 0 < n < len(users):
        users = np.sort(child_rng(seed, "users").choice(users, size=n, replace=False))
    return users


def evaluate_folds(
    full: Snapshot,
    folds: list[Fold],
    names: list[str],
    protocol: Protocol,
    settings: Settings,
    *,
    store: Store | None = None,
    truth: Any = None,
    dataset: str = "",
    progress: Progress | None = None,
) -> Evaluation:
    """The harness proper, on prepared folds: recommend, then measure."""
    units = _sample_users(folds, protocol.users, protocol.seed)
    unit_of = {int(u): i for i, u in enumerate(units)}
    recs: dict[str, dict[tuple[int, int], np.ndarray]] = {s: {} for s in names}
    seconds = dict.fromkeys(names, 0.0)
    describe: dict[str, str] = {}
    for fi, fold in enumerate(folds):
        who = [u for u in units if int(u) in fold.relevant]
        if not who:
            continue
        training = Training(fold, settings, store, protocol.seed, truth)
        for name in names:
            if progress:
                progress(name, fi, len(folds))
            started = time.perf_counter()
            strategy = make_strategy(name)
            describe[name] = strategy.describe
            strategy.fit(training)
            for u in who:
                got = np.asarray(strategy.recommend(int(u), protocol.k), dtype=np.int64)
                recs[name][(unit_of[int(u)], fi)] = fold.to_full[got]
            seconds[name] += time.perf_counter() - started
    # A source that cannot work on this data (no authors: no timeline, no PPR authors) gives
    # no feed at all; it is listed, not scored as if it had failed.
    empty = [n for n in names if recs[n] and not any(len(x) for x in recs[n].values())]
    lists = len(next(iter(recs.values()), {}))
    recs = {n: r for n, r in recs.items() if n not in empty}
    ev = _measure(full, folds, units, recs, protocol, truth)
    per_fold = [sum(1 for u in units if int(u) in f.relevant) for f in folds]
    ceiling = [
        min(1.0, protocol.k * c / max(len(f.catalog), 1))
        for c, f in zip(per_fold, folds, strict=True)
        if c
    ]
    ev.dataset, ev.settings = dataset, settings.to_dict()
    ev.describe = {n: describe.get(n, "") for n in names if n not in empty}
    ev.info.update(
        folds=[
            {
                "cut": f.cut,
                "serve_at": f.serve_at,
                "end": f.end,
                "catalog": len(f.catalog),
                "positives": f.positives[0],
                "findable": f.positives[1],
                "users": len(f.relevant),
            }
            for f in folds
        ],
        users=len(units),
        # Coverage cannot exceed k x feeds / catalog: it grows with the number of users.
        coverage_ceiling=float(np.mean(ceiling)) if ceiling else 0.0,
        lists=lists,
        empty=empty,
        seconds={n: round(v, 2) for n, v in seconds.items()},
        synthetic=truth is not None,
    )
    return ev


def _features(full: Snapshot, truth: Any) -> np.ndarray | sp.csr_matrix:
    if truth is not None:
        return np.asarray(truth.post_topic)[full.post_id - 1]
    return full.post_tags_matrix()


def _engaged_users(view: Snapshot) -> np.ndarray:
    """Per post of the view: distinct users with a positive training interaction."""
    pos = np.isin(view.inter_kind, [KIND_CODE[k] for k in POSITIVE_KINDS])
    pairs = setops.unique(
        view.inter_user[pos].astype(np.int64) * max(view.n_posts, 1) + view.inter_post[pos]
    )
    return np.bincount(pairs % max(view.n_posts, 1), minlength=view.n_posts)


def _measure(
    full: Snapshot,
    folds: list[Fold],
    units: np.ndarray,
    recs: dict[str, dict[tuple[int, int], np.ndarray]],
    protocol: Protocol,
    truth: Any,
) -> Evaluation:
    k, n, nf = protocol.k, len(units), len(folds)
    features = _features(full, truth)
    has_authors = bool((full.post_author >= 0).any())
    popularity = []
    for f in folds:
        deg = np.zeros(full.n_posts)
        deg[f.to_full] = _engaged_users(f.view)
        popularity.append(deg)
    catalog_authors = setops.unique(
        np.concatenate([full.post_author[f.to_full[f.catalog]] for f in folds] + [np.zeros(0)])
    ).astype(np.int64)
    catalog_authors = catalog_authors[catalog_authors >= 0]

    per_list: dict[str, dict[str, np.ndarray]] = {}
    feeds: dict[str, dict[str, float]] = {}
    for name, lists in recs.items():
        vals = {key: np.full((n, nf), np.nan) for key in _PER_LIST}
        shares = []
        for (ui, fi), items in lists.items():
            f = folds[fi]
            rel = f.to_full[f.relevant[int(units[ui])]]
            authors = full.post_author[items]
            v = vals
            v["precision"][ui, fi] = m.precision_at_k(items, rel, k)
            v["recall"][ui, fi] = m.recall_at_k(items, rel, k)
            v["ndcg"][ui, fi] = m.ndcg_at_k(items, rel, k)
            v["map"][ui, fi] = m.average_precision_at_k(items, rel, k)
            v["hit_rate"][ui, fi] = m.hit_at_k(items, rel, k)
            if len(items) >= 2:  # an empty or one-item feed has no diversity to speak of
                v["diversity"][ui, fi] = m.intra_list_distance(items, features)
            if len(items):
                v["novelty"][ui, fi] = m.novelty(items, popularity[fi], f.view.n_accounts)
            v["author_top_share"][ui, fi] = m.largest_share(authors) if len(items) else np.nan
            v["fresh_share"][ui, fi] = (
                float((full.post_taken[items] > f.cut).mean()) if len(items) else np.nan
            )
            if len(items) and has_authors:
                shares.append(m.largest_share(authors))
        with warnings.catch_warnings():  # a user whose lists were all empty has no value
            warnings.simplefilter("ignore", RuntimeWarning)
            per_list[name] = {key: np.nanmean(a, axis=1) for key, a in vals.items()}
        feeds[name] = {
            "feeds": float(len(lists)),
            "max_author_share": float(max(shares)) if shares else float("nan"),
            "share_of_feeds_over_20pct": float(np.mean(np.array(shares) > 0.2)) if shares else 0.0,
            "short_feeds": float(sum(len(x) < k for x in lists.values())),
        }

    def boot(
        stat: Callable[[np.ndarray], np.ndarray], of_set: bool = False
    ) -> tuple[float, float, float]:
        # The same generator state for every call: resamples are paired across strategies.
        gen = child_rng(protocol.seed, "bootstrap")
        return m.bootstrap(stat, n, gen, samples=protocol.samples, bias_corrected=of_set)

    def mean_of(v: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        ok = ~np.isnan(v)
        x = np.where(ok, v, 0.0)
        # NaN (not 0) when no resampled user has a value: an empty feed has no diversity.
        return lambda w: (w @ x) / np.where(w @ ok > 0, w @ ok, np.nan)

    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name, lists in recs.items():
        row: dict[str, tuple[float, float, float]] = {}
        for key in _PER_LIST:
            if key == "author_top_share" and not has_authors:
                continue
            row[key] = boot(mean_of(per_list[name][key]))
        row["coverage"] = boot(_coverage(lists, folds, n), of_set=True)
        if has_authors:
            row["author_gini"] = boot(_author_gini(lists, full, n, catalog_authors), of_set=True)
        if "oracle" in recs and name != "oracle":
            a, b = mean_of(per_list[name]["ndcg"]), mean_of(per_list["oracle"]["ndcg"])
            row["oracle_fraction"] = boot(_ratio(a, b))
        out[name] = {key: row[key] for key in METRICS if key in row}
    return Evaluation("", protocol, {}, list(recs), {}, out, feeds, {})


def _ratio(
    a: Callable[[np.ndarray], np.ndarray], b: Callable[[np.ndarray], np.ndarray]
) -> Callable[[np.ndarray], np.ndarray]:
    return lambda w: a(w) / np.maximum(b(w), 1e-12)


def _coverage(
    lists: dict[tuple[int, int], np.ndarray], folds: list[Fold], n: int
) -> Callable[[np.ndarray], np.ndarray]:
    """``mean over folds of |∪ recommended| / |catalog|`` for resampled users."""
    mats = []
    for fi, f in enumerate(folds):
        keys = [key for key in lists if key[1] == fi]
        if not keys:
            continue
        rows = np.concatenate([np.full(len(lists[key]), key[0]) for key in keys])
        items = np.concatenate([lists[key] for key in keys])
        cols = np.unique(items, return_inverse=True)[1]  # only recommended items matter
        shape = (n, int(cols.max()) + 1 if len(cols) else 1)
        mat = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        mats.append((mat.T.tocsr(), max(len(f.catalog), 1)))

    def stat(w: np.ndarray) -> np.ndarray:
        if not mats:
            return np.zeros(len(w))
        return np.mean([((mt @ w.T) > 0).sum(axis=0) / size for mt, size in mats], axis=0)

    return stat


def _author_gini(
    lists: dict[tuple[int, int], np.ndarray], full: Snapshot, n: int, authors: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Gini of recommendation slots over the catalog's authors, for resampled users
    (:func:`discovery.evaluation.metrics.gini` row by row)."""
    col = np.full(full.n_accounts, -1, dtype=np.int64)
    col[authors] = np.arange(len(authors))
    rows, cols = [], []
    for (ui, _), items in lists.items():
        a = full.post_author[items]
        a = col[a[a >= 0]]
        rows.append(np.full(int((a >= 0).sum()), ui))
        cols.append(a[a >= 0])
    r = np.concatenate([*rows, np.zeros(0, np.int64)])
    c = np.concatenate([*cols, np.zeros(0, np.int64)])
    size = max(len(authors), 1)
    mt = sp.csr_matrix((np.ones(len(r)), (c, r)), shape=(size, n))

    def stat(w: np.ndarray) -> np.ndarray:
        counts = np.sort(np.asarray(mt @ w.T).T, axis=1)  # (resamples, authors)
        total = counts.sum(axis=1)
        i = np.arange(1, size + 1)
        return np.asarray(
            ((2 * i - size - 1) * counts).sum(axis=1) / np.maximum(size * total, 1e-12)
        )

    return stat
