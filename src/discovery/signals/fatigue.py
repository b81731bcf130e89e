"""Author fatigue: how much less the second and third post of one author in a sitting draws.

People tire of one account within one sitting: the :math:`j`-th post of an author they look at
in a session draws less than its own merits predict. The learned ranker scores every post on
its own, so its list can hold an author's three best posts in a row. This module measures the
fatigue from what was logged and the ranker's selections then spend it
(:func:`discovery.ranking.mix.fatigue_order`).

**Sessions.** A user's impressions with gaps of at most :data:`SESSION_GAP` (30 minutes) form
one session — the inactivity rule of web analytics (Catledge & Pitkow, "Characterizing
browsing strategies in the World-Wide Web", 1995; Google Analytics' default). The *session
rank* :math:`j_i` of an impression is how many earlier impressions of the same author its
session holds (:func:`session_author_rank`).

**The fit.** With the model's out-of-sample predictions :math:`\\hat p_i` (P(engage)), labels
:math:`y_i` (engaged) and session ranks :math:`j_i`, :func:`fit_fatigue` finds the maximum
likelihood :math:`(c, \\beta)` of the logistic regression with offset

.. math:: P(y_i = 1) = \\sigma(\\operatorname{logit} \\hat p_i + c + \\beta j_i)

(:math:`c` absorbs a calibration shift; scipy's L-BFGS on the exact log-likelihood and
gradient: a two-parameter offset model that scikit-learn's logistic regression, which takes no
offset, cannot fit). The fatigue is :math:`\\max(0, -\\beta)` logits per earlier post of the
author: a positive :math:`\\beta` (people wanting more of one author) is not acted on, the
author cap already bounds a page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SESSION_GAP",
    "Fatigue",
    "describe",
    "fit_fatigue",
    "group_rank",
    "session_author_rank",
]

#: Seconds of inactivity that end a session.
SESSION_GAP = 1_800
#: Fewer impressions at a session rank above 0 than this, and no fatigue is estimated.
MIN_REPEATS = 200


@dataclass(frozen=True)
class Fatigue:
    """A fitted author fatigue: logits per earlier post of the author in the session."""

    fatigue: float  # max(0, -slope): what the selections apply
    slope: float  # the fitted beta
    stderr: float  # of the slope, from the inverse Hessian at the optimum
    shift: float  # the fitted calibration shift c
    rows: int
    repeats: int  # rows with a session rank above 0

    def as_meta(self) -> dict[str, float | int | None]:
        return {
            "author_fatigue": round(self.fatigue, 6),
            "fatigue_slope": round(self.slope, 6),
            # not fitted: None (NaN is not JSON, and the meta is stored as JSON)
            "fatigue_stderr": None if math.isnan(self.stderr) else round(self.stderr, 6),
            "fatigue_shift": round(self.shift, 6),
            "fatigue_rows": self.rows,
            "fatigue_repeats": self.repeats,
        }


def group_rank(*keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """How many earlier rows (by ``order``) each row's group (equal ``keys``) has.

    >>> group_rank(np.array([0, 0, 0, 1]), np.array([5, 5, 6, 5]), order=np.array([0, 3, 1, 0])).tolist()
    [0, 1, 0, 0]
    """
    n = len(order)
    by = np.lexsort((np.arange(n), order, *reversed(keys)))
    start = np.zeros(n, dtype=bool)
    start[:1] = True
    for k in keys:
        s = k[by]
        start[1:] |= s[1:] != s[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[by] = np.arange(n) - first
    return rank


def session_author_rank(
    users: np.ndarray, authors: np.ndarray, times: np.ndarray, gap: int = SESSION_GAP
) -> np.ndarray:
    """Per impression, the earlier impressions of its author in the user's session (sessions
    split at gaps over ``gap`` seconds; equal times keep the input order, as a page's rows do).

    >>> session_author_rank(np.array([1, 1, 1, 1, 2]), np.array([7, 7, 8, 7, 7]),
    ...                     np.array([0, 4, 8, 9000, 4])).tolist()
    [0, 1, 0, 0, 0]
    """
    users, times = np.asarray(users, np.int64), np.asarray(times, np.int64)
    n = len(users)
    if n == 0:
        return np.zeros(0, np.int64)
    by = np.lexsort((np.arange(n), times, users))
    u, t = users[by], times[by]
    new = np.ones(n, dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (t[1:] - t[:-1] > gap)
    session = np.empty(n, dtype=np.int64)
    session[by] = np.cumsum(new)
    place = np.empty(n, dtype=np.int64)
    place[by] = np.arange(n)
    return group_rank(session, np.asarray(authors, np.int64), order=place)


def fit_fatigue(pred: np.ndarray, engaged: np.ndarray, rank: np.ndarray) -> Fatigue:
    """The maximum-likelihood fatigue of the module's model (zero, unfitted, when fewer than
    :data:`MIN_REPEATS` rows have a session rank above 0)."""
    from scipy.optimize import minimize

    p = np.clip(np.asarray(pred, np.float64), 1e-6, 1 - 1e-6)
    y = np.asarray(engaged, np.float64)
    j = np.asarray(rank, np.float64)
    repeats = int((j > 0).sum())
    if repeats < MIN_REPEATS:
        return Fatigue(0.0, 0.0, float("nan"), 0.0, len(y), repeats)
    offset = np.log(p / (1 - p))
    x = np.column_stack([np.ones(len(y)), j])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = offset + x @ w
        # -log-likelihood: sum log(1 + e^z) - y z, stably
        value = float(np.sum(np.logaddexp(0.0, z) - y * z))
        grad = x.T @ (1.0 / (1.0 + np.exp(-z)) - y)
        return value, grad

    w = minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B").x
    q = 1.0 / (1.0 + np.exp(-(offset + x @ w)))
    hessian = (x * (q * (1 - q))[:, None]).T @ x
    stderr = float(np.sqrt(np.linalg.inv(hessian)[1, 1]))
    slope = float(w[1])
    return Fatigue(max(0.0, -slope), slope, stderr, float(w[0]), len(y), repeats)


def describe(meta: dict[str, object]) -> str:
    """The fatigue a training run fitted, for a CLI line ("" when it fitted none).

    >>> describe({"author_fatigue": 0.42, "fatigue_stderr": 0.05, "fatigue_repeats": 3677})
    ', author fatigue 0.42 ± 0.05 logits (3,677 repeats)'
    >>> describe({"author_fatigue": 0.0, "fatigue_stderr": None, "fatigue_repeats": 12})
    ', no author fatigue (12 repeats: too few to fit)'
    """
    if "author_fatigue" not in meta:
        return ""
    value, err, n = meta["author_fatigue"], meta["fatigue_stderr"], meta["fatigue_repeats"]
    if err is None:  # not fitted
        return f", no author fatigue ({n:,} repeats: too few to fit)"
    if value == 0:
        return f", no author fatigue (slope {meta['fatigue_slope']:+.2f} ± {err:.2f})"
    return f", author fatigue {value:.2f} ± {err:.2f} logits ({n:,} repeats)"
