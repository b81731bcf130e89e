"""Per-arm metrics from hand-computed per-user totals, intervals checked against textbook
formulas and against each other, and the interleaving verdict from team credit."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from discovery.experiments.interleaving import Preference
from discovery.experiments.metrics import (
    Estimate,
    arm_metrics,
    interleaving_preference,
    ratio_interval,
)
from discovery.seed import rng
from discovery.store.experiments import UserArmTotals as T


def test_arm_metrics_by_hand() -> None:
    totals = [
        # user, arm, impressions, engagements, outside, hides, credited
        T(1, "a", 3, 2, 1, 0, 2),
        T(2, "a", 1, 0, 0, 1, 0),
        T(3, "b", 5, 1, 1, 0, 1),
    ]
    a, b, c = arm_metrics(totals, ["a", "b", "c"])
    assert (a.users, a.impressions, a.engagements, a.hides) == (2, 4, 2, 1)
    assert a.engagements_per_impression.value == 2 / 4
    assert a.discovery_share.value == 1 / 2
    assert a.hides_per_impression.value == 1 / 4
    assert b.engagements_per_impression == Estimate(0.2, 0.2, 0.2)  # one user: no spread
    assert b.discovery_share == Estimate(1.0, 1.0, 1.0)
    assert (c.users, c.impressions) == (0, 0)
    assert math.isnan(c.engagements_per_impression.value)
    assert c.to_json()["engagements_per_impression"] == {"value": None, "low": None, "high": None}
    for m in (a.engagements_per_impression, a.discovery_share, a.hides_per_impression):
        assert m.low <= m.value <= m.high


def test_intervals_are_reproducible_per_seed() -> None:
    totals = [T(u, "a", 10, u % 4, u % 2, u % 3 == 0, 0) for u in range(50)]
    assert arm_metrics(totals, ["a"], seed=1) == arm_metrics(totals, ["a"], seed=1)
    assert arm_metrics(totals, ["a"], seed=1) != arm_metrics(totals, ["a"], seed=2)


def test_delta_interval_of_a_plain_mean_is_the_textbook_one() -> None:
    """One impression per user: the ratio is a mean and the delta method gives the usual
    mean ± 1.96 s / √n."""
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    got = ratio_interval(np.array(values), np.ones(10), rng(0), method="delta")
    half = 1.959963984540054 * statistics.stdev(values) / math.sqrt(10)
    assert got.value == pytest.approx(0.7)
    assert (got.low, got.high) == (pytest.approx(0.7 - half), pytest.approx(0.7 + half))


def test_bootstrap_and_delta_agree_on_many_users() -> None:
    g = rng(7)
    imp = g.integers(1, 30, 3000).astype(float)
    eng = g.binomial(imp.astype(int), 0.1 + 0.1 * g.random(3000)).astype(float)
    boot = ratio_interval(eng, imp, rng(1), samples=2000, method="bootstrap")
    delta = ratio_interval(eng, imp, rng(1), method="delta")
    assert boot.value == delta.value == pytest.approx(eng.sum() / imp.sum())
    width = delta.high - delta.low
    assert abs(boot.low - delta.low) < 0.1 * width
    assert abs(boot.high - delta.high) < 0.1 * width
    with pytest.raises(ValueError):
        ratio_interval(eng, imp, rng(1), method="jackknife")


def test_interleaving_preference_by_hand() -> None:
    totals = [
        T(1, "A", 4, 0, 0, 0, 2),
        T(1, "B", 4, 0, 0, 0, 1),  # user 1: A 2 - B 1, a win
        T(2, "A", 2, 0, 0, 0, 0),
        T(2, "B", 2, 0, 0, 0, 3),  # user 2: a loss
        T(3, "A", 3, 0, 0, 0, 1),
        T(3, "B", 3, 0, 0, 0, 1),  # user 3: a tie
        T(4, "A", 5, 0, 0, 0, 4),  # user 4: only A's items on screen, a win
    ]
    pref = interleaving_preference(totals, "A", "B")
    assert pref == Preference(2, 1, 1)
    assert pref.p_value == 1.0  # 2 vs 1: P = 2·(1 + 3)/8 > 1, capped
