"""Settings of a simulation run: one frozen record read by the CLI, the loop and the report.

The behaviour knobs have documented sources:

* **attention** — the probability that a user looks at position :math:`i` (0-based) of a feed
  is :math:`1/\\log_2(i + 2)`, the position discount of DCG (Järvelin & Kekäläinen 2002, *ACM
  TOIS* 20(4)) read as an examination probability, as the position-based click model does
  (Chuklin, Markov & de Rijke 2015, *Click Models for Web Search*, §3.2).
* **opening the app** — user *u* with the world's activity :math:`a_u` (mean ≈ 1) opens the
  app on a day with probability :math:`1 - e^{-r a_u}` (one Poisson-rate session count, at
  least one visit), ``r = opens``.
* **author fatigue** — the :math:`j`-th post of one author looked at in a session has its
  utility logit lowered by :math:`j \\cdot` ``fatigue`` (``j`` = 0 for the first).
* **repeats** — a post the user was shown before (in the history or an earlier day) and did not
  act on is looked at again with no response: the user already decided.
* **follows** — a user follows an author after liking ``follow_after`` of their posts during
  the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["DEFAULT_ARMS", "SimConfig", "attention"]

#: The arms a plain ``discovery simulate`` compares.
DEFAULT_ARMS = ("timeline", "blend", "oracle")


@dataclass(frozen=True)
class SimConfig:
    """One simulation run (same config and world → same numbers, byte for byte)."""

    days: int = 14
    users: int = 0  # 0: every person of the world; N: a seeded sample of N people
    arms: tuple[str, ...] = DEFAULT_ARMS
    k: int = 20
    seed: int = 42
    opens: float = 1.0
    fatigue: float = 0.5
    follow_after: int = 3
    samples: int = 400  # bootstrap resamples per interval

    def check(self) -> None:
        """Raise :class:`InputError` with one line for an out-of-range setting."""
        from .arms import make_arm

        if not 1 <= self.days <= 365:
            raise InputError(f"--days must be between 1 and 365, got {self.days}")
        if self.users < 0:
            raise InputError(f"--users must be 0 (all) or positive, got {self.users}")
        if not 1 <= self.k <= 100:
            raise InputError(f"-k must be between 1 and 100, got {self.k}")
        if not self.arms:
            raise InputError("--arms: name at least one arm")
        for name in self.arms:
            make_arm(name)
        if len(set(self.arms)) != len(self.arms):
            raise InputError("--arms: an arm is named twice")
        if not 10 <= self.samples <= 100_000:
            raise InputError(f"--samples must be between 10 and 100000, got {self.samples}")
        if self.opens <= 0 or self.fatigue < 0 or self.follow_after < 1:
            raise InputError("opens must be > 0, fatigue >= 0 and follow_after >= 1")

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["arms"] = list(self.arms)
        return body


def attention(k: int) -> np.ndarray:
    """Probability of looking at each of ``k`` positions: :math:`1/\\log_2(i + 2)`.

    >>> attention(3).round(3).tolist()
    [1.0, 0.631, 0.5]
    """
    return np.asarray(1.0 / np.log2(np.arange(k) + 2.0))
