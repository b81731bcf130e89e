"""Pure metric functions of a ranked list, and percentile-bootstrap confidence intervals.

Accuracy metrics take ``ranked`` (item indexes, best first) and ``relevant`` (the items the user
engaged with in the hold-out) and count binary relevance. Beyond-accuracy metrics take the list
and per-item features. Every function is a plain function of arrays: the harness computes
them per user and :func:`bootstrap` turns a per-user vector into an interval.

Definitions follow Manning, Raghavan & Schütze, *Introduction to Information Retrieval* (2008),
ch. 8 (precision, recall, MAP, NDCG, binary gains), Zhou et al., "Solving the apparent
diversity-accuracy dilemma of recommender systems", PNAS 107 (2010) (novelty as
self-information) and Efron & Tibshirani, *An Introduction to the Bootstrap* (1993), ch. 13
(percentile intervals).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from .. import setops

__all__ = [
    "average_precision_at_k",
    "bootstrap",
    "bootstrap_mean",
    "gini",
    "hit_at_k",
    "intra_list_distance",
    "largest_share",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
]

Items = Sequence[int] | np.ndarray


def _hits(ranked: Items, relevant: Items, k: int) -> np.ndarray:
    top = np.asarray(ranked, dtype=np.int64)[:k]
    return np.isin(top, np.asarray(relevant, dtype=np.int64))


def precision_at_k(ranked: Items, relevant: Items, k: int) -> float:
    """``|top_k ∩ R| / k`` (a list shorter than ``k`` is still divided by ``k``).

    >>> precision_at_k([3, 1, 2], [1, 9], k=2)
    0.5
    """
    return float(_hits(ranked, relevant, k).sum()) / k


def recall_at_k(ranked: Items, relevant: Items, k: int) -> float:
    """``|top_k ∩ R| / |R|`` (0 when ``R`` is empty).

    >>> recall_at_k([3, 1, 2], [1, 9], k=2)
    0.5
    """
    n = len(setops.unique(np.asarray(relevant)))
    return float(_hits(ranked, relevant, k).sum()) / n if n else 0.0


def hit_at_k(ranked: Items, relevant: Items, k: int) -> float:
    """1 when any of the top ``k`` is relevant, else 0.

    >>> hit_at_k([3, 1], [1], k=1), hit_at_k([3, 1], [1], k=2)
    (0.0, 1.0)
    """
    return float(_hits(ranked, relevant, k).any())


def ndcg_at_k(ranked: Items, relevant: Items, k: int) -> float:
    """Normalised discounted cumulative gain with binary gains.

    ``DCG = Σ_{i=1..k} rel_i / log2(i + 1)``, ``IDCG = Σ_{i=1..min(k, |R|)} 1 / log2(i + 1)``,
    ``NDCG = DCG / IDCG`` (0 when ``R`` is empty).

    >>> round(ndcg_at_k([5, 7, 9], [7], k=3), 4)  # one hit at rank 2: 1/log2(3)
    0.6309
    """
    hits = _hits(ranked, relevant, k)
    n_rel = len(setops.unique(np.asarray(relevant)))
    if n_rel == 0:
        return 0.0
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(discount[: len(hits)][hits].sum())
    idcg = float(discount[: min(k, n_rel)].sum())
    return dcg / idcg


def average_precision_at_k(ranked: Items, relevant: Items, k: int) -> float:
    """``AP@k = Σ_{i=1..k} P@i · rel_i / min(k, |R|)``; MAP@k is its mean over users.

    >>> average_precision_at_k([1, 5, 2], [1, 2], k=3)  # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    hits = _hits(ranked, relevant, k)
    n_rel = len(setops.unique(np.asarray(relevant)))
    if n_rel == 0 or not hits.any():
        return 0.0
    prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(prec[hits].sum()) / min(k, n_rel)


def intra_list_distance(ranked: Items, features: sp.csr_matrix | np.ndarray) -> float:
    """Mean pairwise distance within a list (Ziegler et al., WWW 2005).

    ``features`` is either a 1-d array of category labels (distance ``[c_i ≠ c_j]``) or a
    sparse item × feature matrix (distance ``1 - cos``; an item without features is at
    distance 1 from everything). Lists of fewer than two items score 0.

    >>> intra_list_distance([0, 1, 2], np.array([4, 4, 7]))  # pairs: same, diff, diff
    0.6666666666666666
    """
    items = np.asarray(ranked, dtype=np.int64)
    n = len(items)
    if n < 2:
        return 0.0
    iu = np.triu_indices(n, 1)
    if isinstance(features, np.ndarray) and features.ndim == 1:
        labels = features[items]
        return float((labels[:, None] != labels[None, :])[iu].mean())
    x = sp.csr_matrix(features)[items].astype(np.float64)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    sims = np.asarray((x @ x.T).todense())
    denom = norms[:, None] * norms[None, :]
    cos = np.where(denom > 0, sims / np.where(denom > 0, denom, 1.0), 0.0)
    return float((1.0 - cos)[iu].mean())


def novelty(ranked: Items, popularity: np.ndarray, n_users: int) -> float:
    """Mean self-information ``-log2((d_i + 1) / (n_users + 1))`` of the listed items, where
    ``d_i`` is how many users engaged with item ``i`` in training (Zhou et al. 2010, with +1
    smoothing so an item nobody has touched yet is finite). Empty lists score 0.

    >>> novelty([0, 1], np.array([3, 0]), n_users=3)  # (log2(4/4) + log2(4/1)) / 2
    1.0
    """
    items = np.asarray(ranked, dtype=np.int64)
    if len(items) == 0:
        return 0.0
    p = (popularity[items] + 1.0) / (n_users + 1.0)
    return float(-np.log2(p).mean())


def largest_share(labels: Items) -> float:
    """Share of the list taken by its most frequent label (e.g. author); labels ``< 0``
    (items with no author) are ignored. 0 for an empty list.

    >>> largest_share([3, 3, 5, 3])
    0.75
    """
    arr = np.asarray(labels, dtype=np.int64)
    arr = arr[arr >= 0]
    if len(arr) == 0:
        return 0.0
    return float(np.unique(arr, return_counts=True)[1].max()) / len(arr)


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, → 1 = all in one place).

    ``G = Σ_i (2i - n - 1) x_(i) / (n Σ x)`` over the values sorted ascending, ``i = 1..n``;
    equal to ``Σ_i Σ_j |x_i - x_j| / (2 n² x̄)``. 0 when all values are 0.

    >>> gini([0, 0, 0, 4]), gini([1, 1, 1, 1])
    (0.75, 0.0)
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray],
    n_units: int,
    rng: np.random.Generator,
    *,
    samples: int = 1000,
    level: float = 0.95,
    bias_corrected: bool = False,
) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap interval of a statistic over resampled units.

    ``statistic(weights)`` receives a ``(B, n_units)`` matrix: row ``b`` counts how often each
    unit (user) is drawn in resample ``b`` (multinomial, ``n_units`` draws). It returns one
    value per row. The point estimate is ``statistic`` of a row of ones (every unit once); the
    interval is the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles over resamples.
    Expressing resamples as weights lets global statistics (coverage, Gini) be recomputed with
    one sparse product instead of a Python loop.

    ``bias_corrected`` shifts the interval by the bootstrap estimate of bias,
    ``mean_b(θ*_b) - θ̂`` (Efron & Tibshirani 1993, §10.2). Statistics of a *set* of users —
    catalog coverage, the Gini of author exposure — need it: a resample with replacement holds
    only about 63 % distinct users, so their union is systematically smaller and the plain
    percentile interval would not even contain the point estimate.
    """
    point = float(statistic(np.ones((1, n_units)))[0])
    if n_units == 0:
        return point, point, point
    weights = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=samples)
    values = np.asarray(statistic(weights.astype(np.float64)), dtype=np.float64)
    tail = (1.0 - level) / 2.0
    if np.isnan(values).all():  # e.g. diversity of a strategy whose feeds are all empty
        return point, float("nan"), float("nan")
    lo, hi = np.nanquantile(values, [tail, 1.0 - tail])
    shift = float(np.nanmean(values)) - point if bias_corrected else 0.0
    return point, float(lo - shift), float(hi - shift)


def bootstrap_mean(
    values: np.ndarray, rng: np.random.Generator, *, samples: int = 1000, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of per-unit ``values`` and its percentile bootstrap interval.

    >>> from discovery.seed import rng
    >>> bootstrap_mean(np.array([2.0, 2.0, 2.0]), rng(0))
    (2.0, 2.0, 2.0)
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    return bootstrap(lambda w: (w @ v) / max(n, 1), n, rng, samples=samples, level=level)
