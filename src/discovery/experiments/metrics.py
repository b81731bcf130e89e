"""Per-arm metrics of an experiment with 95 % confidence intervals, and the interleaving verdict.

The unit of an online experiment is the user, not the impression: one user's impressions are
not independent (a user who likes a lot likes a lot in every feed), so intervals come from a
bootstrap over users — the per-user totals (:class:`~discovery.store.experiments.UserArmTotals`)
are resampled with replacement and each ratio recomputed as a ratio of sums,
``Σ_u w_u·num_u / Σ_u w_u·den_u`` (Deng, Knoblich & Lu, "Applying the Delta Method in Metric
Analytics", KDD 2018, on why per-user resampling; :func:`discovery.evaluation.metrics.bootstrap`
does the resampling; above :data:`BOOTSTRAP_MAX_USERS` users, the delta method). Metrics per arm:

- ``engagements_per_impression`` = likes + saves + comments on shown posts after they were shown,
  over impressions;
- ``discovery_share`` = those engagements on posts of authors the user did not follow, over all
  engagements (the share of what people engaged with that they found outside their network);
- ``hides_per_impression`` = hides of shown posts over impressions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evaluation.metrics import bootstrap
from ..seed import child_rng
from ..store.experiments import UserArmTotals
from .interleaving import Preference

__all__ = [
    "BOOTSTRAP_MAX_USERS",
    "ArmMetrics",
    "Estimate",
    "arm_metrics",
    "interleaving_preference",
    "ratio_interval",
]

#: Above this many users an arm's intervals come from the delta method: the bootstrap's
#: ``samples × users`` weight matrix would not fit in memory (1,000 × 100,000 is 800 MB).
BOOTSTRAP_MAX_USERS = 20_000
_Z95 = 1.959963984540054  # the 97.5 % quantile of the standard normal


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its 95 % interval (NaN when undefined, e.g. no impressions)."""

    value: float
    low: float
    high: float

    def to_json(self) -> dict[str, float | None]:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {"value": clean(self.value), "low": clean(self.low), "high": clean(self.high)}


@dataclass(frozen=True)
class ArmMetrics:
    """One arm's totals and ratio metrics (see the module docstring)."""

    arm: str
    users: int
    impressions: int
    engagements: int
    hides: int
    engagements_per_impression: Estimate
    discovery_share: Estimate
    hides_per_impression: Estimate

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "users": self.users,
            "impressions": self.impressions,
            "engagements": self.engagements,
            "hides": self.hides,
            "engagements_per_impression": self.engagements_per_impression.to_json(),
            "discovery_share": self.discovery_share.to_json(),
            "hides_per_impression": self.hides_per_impression.to_json(),
        }


def ratio_interval(
    num: np.ndarray,
    den: np.ndarray,
    rng: np.random.Generator,
    *,
    samples: int = 1000,
    method: str = "auto",
) -> Estimate:
    """``R = Σ num / Σ den`` over users and its 95 % interval.

    ``method="bootstrap"``: percentile bootstrap over users
    (:func:`discovery.evaluation.metrics.bootstrap`). ``method="delta"``: the delta method for
    a ratio of means (Deng, Knoblich & Lu 2018, eq. 3), ``Var(R) ≈ (s_n² − 2R·s_nd + R²·s_d²)
    / (N·d̄²)`` with per-user variances ``s`` and mean denominator ``d̄``, interval ``R ± 1.96
    √Var``. ``"auto"`` bootstraps up to :data:`BOOTSTRAP_MAX_USERS` users. NaN when ``Σ den``
    is 0.

    >>> from discovery.seed import rng
    >>> ratio_interval(np.array([1.0, 3.0]), np.array([2.0, 6.0]), rng(0))
    Estimate(value=0.5, low=0.5, high=0.5)
    """
    n = len(num)
    if n == 0 or den.sum() == 0:
        return Estimate(math.nan, math.nan, math.nan)
    if method == "auto":
        method = "bootstrap" if n <= BOOTSTRAP_MAX_USERS else "delta"
    if method == "bootstrap":

        def statistic(w: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.asarray((w @ num) / (w @ den), dtype=np.float64)

        return Estimate(*bootstrap(statistic, n, rng, samples=samples))
    if method != "delta":
        raise ValueError(f"method: expected auto, bootstrap or delta, got {method!r}")
    r = float(num.sum() / den.sum())
    if n < 2:
        return Estimate(r, math.nan, math.nan)
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * float(den.mean()) ** 2)
    half = _Z95 * math.sqrt(max(float(var), 0.0))
    return Estimate(r, r - half, r + half)


def arm_metrics(
    totals: Sequence[UserArmTotals],
    arms: Sequence[str],
    *,
    seed: int | None = None,
    samples: int = 1000,
) -> list[ArmMetrics]:
    """Metrics of each arm in ``arms`` (in that order; an arm nobody saw has zeros and NaNs)
    from per-user totals; the bootstrap is seeded per arm through :mod:`discovery.seed`, so a
    report is reproducible.

    >>> t = [UserArmTotals(1, "a", 4, 2, 1, 0, 2), UserArmTotals(2, "a", 4, 2, 1, 0, 2)]
    >>> m = arm_metrics(t, ["a"])[0]
    >>> m.engagements_per_impression, m.discovery_share.value
    (Estimate(value=0.5, low=0.5, high=0.5), 0.5)
    """
    out = []
    for arm in arms:
        rows = [t for t in totals if t.arm == arm]
        imp = np.array([t.impressions for t in rows], dtype=np.float64)
        eng = np.array([t.engagements for t in rows], dtype=np.float64)
        outside = np.array([t.outside for t in rows], dtype=np.float64)
        hides = np.array([t.hides for t in rows], dtype=np.float64)
        out.append(
            ArmMetrics(
                arm=arm,
                users=len(rows),
                impressions=int(imp.sum()),
                engagements=int(eng.sum()),
                hides=int(hides.sum()),
                engagements_per_impression=ratio_interval(
                    eng, imp, child_rng(seed, "experiment", arm, "epi"), samples=samples
                ),
                discovery_share=ratio_interval(
                    outside, eng, child_rng(seed, "experiment", arm, "discovery"), samples=samples
                ),
                hides_per_impression=ratio_interval(
                    hides, imp, child_rng(seed, "experiment", arm, "hides"), samples=samples
                ),
            )
        )
    return out


def interleaving_preference(totals: Sequence[UserArmTotals], a: str, b: str) -> Preference:
    """Per-user verdicts of an interleaved experiment: a user is a win for ``a`` when more of
    the posts ``a``'s team placed were clicked or liked than of ``b``'s (every user with an
    impression counts; equal credit, zero included, is a tie).

    >>> t = [UserArmTotals(1, "a", 5, 0, 0, 0, 2), UserArmTotals(1, "b", 5, 0, 0, 0, 1),
    ...      UserArmTotals(2, "b", 3, 0, 0, 0, 1), UserArmTotals(3, "a", 2, 0, 0, 0, 0)]
    >>> interleaving_preference(t, "a", "b")
    Preference(wins=1, losses=1, ties=1)
    """
    margin: dict[int, int] = {}
    for t in totals:
        sign = 1 if t.arm == a else -1 if t.arm == b else 0
        margin[t.account] = margin.get(t.account, 0) + sign * t.credited
    values = list(margin.values())
    return Preference(
        sum(v > 0 for v in values), sum(v < 0 for v in values), sum(v == 0 for v in values)
    )
