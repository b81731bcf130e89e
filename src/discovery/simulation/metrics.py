"""Per-arm, per-day measures of a simulation, with 95 % bootstrap intervals over users.

Intervals resample the users of an arm (:func:`discovery.evaluation.metrics.bootstrap`, the
offline harness's percentile bootstrap, with its weight-matrix trick); a ratio of two arms
resamples the users of both. Every statistic is over the users *assigned* to the arm, whether
or not they opened the app that day, so arms of equal size compare directly.

=================  ==================================================================
key                statistic
=================  ==================================================================
engagement_rate    (likes + comments + saves + shares) / impressions
like_rate          likes / impressions
oon_likes          likes of posts by accounts the user did not follow, per user
follows            new follows per user
hide_rate          hides / impressions
authors            distinct authors looked at, per user
interest_coverage  share of the user's 3 top true topics looked at so far, per user
topic_entropy      Shannon entropy (bits) of the topics looked at, per user with any
catalog_coverage   share of the candidate window's posts looked at by someone in the arm
utility            expected likes per user: the sum of P(like) over their impressions
utility_rate       expected likes / impressions (the like rate without sampling noise)
=================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import setops
from ..evaluation.metrics import bootstrap
from ..seed import child_rng
from .loop import SimLog

__all__ = ["METRICS", "Interval", "Measures", "measure", "ratio_between"]

METRICS = (
    "engagement_rate", "like_rate", "oon_likes", "follows", "hide_rate", "authors",
    "interest_coverage", "topic_entropy", "catalog_coverage", "utility", "utility_rate",
)  # fmt: skip
_RATIOS = {"engagement_rate": ("engaged", "imp"), "like_rate": ("like", "imp")}
_RATIOS |= {"hide_rate": ("hide", "imp"), "utility_rate": ("utility", "imp")}

Interval = tuple[float, float, float]


@dataclass
class Measures:
    """Per-user columns of one arm over a period (days, or the whole run)."""

    cols: dict[str, np.ndarray]
    looked: sp.csr_matrix  # users x catalog posts looked at
    catalog: int


def _entropy(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    p = counts / np.maximum(total, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
    return np.where(total[:, 0] > 0, h, np.nan)


def _columns(log: SimLog, members: np.ndarray, days: range) -> Measures:
    """Per-user columns of the participants ``members`` (indices into ``log.users``)."""
    n = len(members)
    row_of = np.full(len(log.users), -1)
    row_of[members] = np.arange(n)
    cols = {k: np.zeros(n) for k in ("imp", "engaged", "like", "hide", "oon_likes", "utility")}
    cols["follows"] = np.zeros(n)
    topics = log.top_topics.shape[1] and int(log.post_topic.max(initial=0)) + 1
    counts = np.zeros((n, topics))
    seen_topics = np.zeros((n, topics), dtype=bool)
    pairs_u, pairs_a, pairs_p = [], [], []
    catalog = setops.unique(np.concatenate([log.catalog[d] for d in days] + [np.zeros(0, int)]))
    for d, r in log.impressions:
        rows = row_of[np.searchsorted(log.users, r.user)]
        mine = rows >= 0
        if d > days.stop - 1:
            continue
        topic = log.post_topic[r.post]
        np.logical_or.at(seen_topics, (rows[mine], topic[mine]), True)  # cumulative coverage
        if d < days.start:
            continue
        rr = rows[mine]
        for key, v in (("imp", 1.0), ("engaged", r.engaged), ("like", r.like), ("hide", r.hide)):
            np.add.at(cols[key], rr, (np.broadcast_to(v, r.user.shape))[mine])
        np.add.at(cols["oon_likes"], rr, (r.like & ~r.in_network)[mine])
        np.add.at(cols["utility"], rr, r.utility[mine])
        np.add.at(counts, (rr, topic[mine]), 1.0)
        pairs_u.append(rr)
        pairs_a.append(r.author[mine])
        pairs_p.append(r.post[mine])
    for d, followers in log.follows:
        if d in days:
            rows = row_of[np.searchsorted(log.users, followers)]
            np.add.at(cols["follows"], rows[rows >= 0], 1.0)
    u = np.concatenate([*pairs_u, np.zeros(0, int)]).astype(np.int64)
    a = np.concatenate([*pairs_a, np.zeros(0, int)]).astype(np.int64)
    p = np.concatenate([*pairs_p, np.zeros(0, int)]).astype(np.int64)
    ua = setops.unique(u * (int(a.max(initial=0)) + 1) + a) // (int(a.max(initial=0)) + 1)
    cols["authors"] = np.bincount(ua, minlength=n).astype(float)
    top = log.top_topics[members]
    cols["interest_coverage"] = np.take_along_axis(seen_topics, top, axis=1).mean(axis=1)
    cols["topic_entropy"] = _entropy(counts)
    in_cat = np.isin(p, catalog)
    col = np.searchsorted(catalog, p[in_cat])
    looked = sp.csr_matrix(
        (np.ones(int(in_cat.sum())), (u[in_cat], col)), shape=(n, max(len(catalog), 1))
    )
    looked.data[:] = 1.0
    return Measures(cols, looked, len(catalog))


def _stat(m: Measures, key: str) -> Callable[[np.ndarray], np.ndarray]:
    c = m.cols
    if key in _RATIOS:
        num, den = (c[x] for x in _RATIOS[key])
        return lambda w: (w @ num) / np.where(w @ den > 0, w @ den, np.nan)
    if key == "catalog_coverage":
        looked, size = m.looked.tocsc(), max(m.catalog, 1)
        return lambda w: np.asarray((looked.T @ w.T > 0).sum(axis=0)).ravel() / size
    v = c[key]
    ok = ~np.isnan(v)
    x = np.where(ok, v, 0.0)
    return lambda w: (w @ x) / np.where(w @ ok > 0, w @ ok, np.nan)


def measure(m: Measures, seed: int, samples: int, *names: str | int) -> dict[str, Interval]:
    """Every metric of one arm's columns with its 95 % interval."""
    n = len(m.cols["imp"])
    out = {}
    for key in METRICS:
        gen = child_rng(seed, "simulation", "bootstrap", key, *names)
        out[key] = bootstrap(
            _stat(m, key), n, gen, samples=samples, bias_corrected=key == "catalog_coverage"
        )
    return out


def ratio_between(
    a: Measures, b: Measures, key: str, seed: int, samples: int, *names: str | int
) -> Interval:
    """``key`` of arm ``a`` over ``key`` of arm ``b``: users of both arms resampled together."""
    na = len(a.cols["imp"])
    sa, sb = _stat(a, key), _stat(b, key)
    gen = child_rng(seed, "simulation", "ratio", key, *names)
    n = na + len(b.cols["imp"])

    def stat(w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero denominator: no ratio
            x = np.asarray(sa(w[:, :na]) / sb(w[:, na:]))
        return np.where(np.isinf(x), np.nan, x)

    return bootstrap(stat, n, gen, samples=samples)


def arm_measures(log: SimLog, arm: int, days: range) -> Measures:
    """Columns of the users of arm number ``arm`` over ``days``."""
    return _columns(log, np.flatnonzero(log.arm == arm), days)
