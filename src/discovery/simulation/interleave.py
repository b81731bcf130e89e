"""Team-draft interleaving in the simulator, and how many users each design needs.

The arm ``A+B`` serves each of its users one feed merged from arm A's and arm B's by team draft
(:func:`discovery.experiments.interleaving.team_draft`, Radlinski, Kurup & Joachims 2008);
each impression is credited to the team that placed it when clicked or liked, and a user
prefers A when A's items earned more over the run (:func:`~discovery.experiments.interleaving.preferences`).

:func:`users_needed` answers the question of issue 13 §3 by resampling the simulated users:
for a growing number of users *n*, the share of seeded subsamples in which the design finds the
difference at p < 0.05 (its power), and the smallest *n* where that share reaches 80 %. The
interleaving design uses the sign test of per-user preferences; the A/B split compares the
items clicked or liked per user of *n*/2 users of arm A with *n*/2 of arm B by the two-sided
Mann–Whitney U test (per-user counts are skewed and tied at zero, so no normal theory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import setops
from ..seed import child_rng
from .arms import Arm, Day

__all__ = ["InterleaveArm", "Needed", "users_needed"]

#: Power a design must reach, and its significance level.
POWER, ALPHA = 0.8, 0.05


class InterleaveArm(Arm):
    """Arms ``a`` and ``b`` team-drafted into one feed; ``teams`` remembers who placed what."""

    def __init__(self, name: str, a: Arm, b: Arm) -> None:
        self.name, self.a, self.b = name, a, b
        self.describe = f"team-draft interleaving of {a.name} and {b.name}"
        self.teams: dict[tuple[int, int, int], int] = {}  # (day, user, post) -> team

    def serve(self, day: Day, users: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
        from ..experiments.interleaving import team_draft

        left, right = self.a.serve(day, users, times), self.b.serve(day, users, times)
        out = []
        for u, la, lb in zip(users.tolist(), left, right, strict=True):
            coins = child_rng(day.seed, "simulation", "interleave", day.index, u)
            items, teams = team_draft(la.tolist(), lb.tolist(), day.k, coins)
            for post, team in zip(items, teams, strict=True):
                self.teams[(day.index, u, int(post))] = team
            out.append(np.asarray(items, dtype=np.int64))
        return out


@dataclass
class Needed:
    """Power by number of users for one design, and the smallest *n* reaching 80 %."""

    sizes: list[int]
    power: list[float]
    needed: int | None  # None: not reached with the users simulated

    def to_json(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "power": self.power, "needed": self.needed}


def _grid(limit: int) -> list[int]:
    sizes, n = [], 10
    while n < limit:
        sizes.append(n)
        n *= 2
    return [*sizes, limit]


def _power(sizes: list[int], trial: Any) -> Needed:
    power = [round(float(np.mean([trial(n, r) for r in range(40)])), 3) for n in sizes]
    needed = next((n for n, p in zip(sizes, power, strict=True) if p >= POWER), None)
    return Needed(sizes, power, needed)


def users_needed(
    margin: np.ndarray, engaged_a: np.ndarray, engaged_b: np.ndarray, seed: int
) -> dict[str, Any]:
    """Power curves of interleaving (per-user credit margins A − B of the ``A+B`` users) and
    of the A/B split (items clicked or liked per user of arms A and B)."""
    from scipy.stats import mannwhitneyu

    from ..experiments.interleaving import preference_test

    def interleaved(n: int, r: int) -> bool:
        pick = child_rng(seed, "simulation", "power", "interleave", n, r).choice(
            len(margin), n, replace=False
        )
        m = margin[pick]
        return preference_test(int((m > 0).sum()), int((m < 0).sum())) < ALPHA

    def split(n: int, r: int) -> bool:
        gen = child_rng(seed, "simulation", "power", "split", n, r)
        a = engaged_a[gen.choice(len(engaged_a), n // 2, replace=False)]
        b = engaged_b[gen.choice(len(engaged_b), n // 2, replace=False)]
        if (
            np.array_equal(setops.unique(np.concatenate([a, b])), setops.unique(a))
            and len(setops.unique(np.concatenate([a, b]))) == 1
        ):
            return False  # every count equal: no test to run
        return bool(mannwhitneyu(a, b, alternative="two-sided").pvalue < ALPHA)

    inter = _power(_grid(len(margin)), interleaved)
    ab = _power(_grid(2 * min(len(engaged_a), len(engaged_b))), split)
    wins, losses = int((margin > 0).sum()), int((margin < 0).sum())
    return {
        "users": len(margin),
        "wins": wins,
        "losses": losses,
        "ties": int(len(margin) - wins - losses),
        "p_value": float(f"{preference_test(wins, losses):.6g}"),
        "interleaving": inter.to_json(),
        "ab_split": ab.to_json(),
        "power": POWER,
        "alpha": ALPHA,
    }
