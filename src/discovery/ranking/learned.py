"""``--ranker learned``: the trained LightGBM ranker (:mod:`discovery.signals.learned`).

Scores are the model's output on the features :func:`discovery.signals.features.hydrate`
builds (the same function the training lists were built with); the factors of each pick are
those features by name plus ``learned``, the score, so the impression log records what the
model saw. The model's author fatigue (fitted beside it, :mod:`discovery.signals.fatigue`)
orders its pages: an author's second post in a page counts ``fatigue`` logits less. Without a
trained model the factory hands out the default ranker: the engine never fails for want of
training.

With the ``hide_cost`` setting :math:`\\kappa > 0` and a P(hide) booster in the model, a post's
score is :math:`\\max(p_e - \\kappa\\, p_h,\\; 10^{-3} p_e)`: its expected engagements less
:math:`\\kappa` engagements per expected hide (the value of showing it when a hide costs
:math:`\\kappa` engagements), floored at a thousandth of :math:`p_e` so that scores stay
positive (the blend multiplies explore scores by ``explore_scale``, which would raise a negative
one) and posts below the floor keep their order by :math:`p_e`. ``p_hide`` joins the factors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .candidates import Candidates
from .context import UserContext
from .rankers import DefaultRanker, Ranker, Scored

__all__ = ["HIDE_FLOOR", "LearnedRanker", "learned_ranker"]

#: A score less its hide cost is at least this share of P(engage) (see the module docstring).
HIDE_FLOOR = 1e-3


class LearnedRanker:
    """Scores posts with a :class:`~discovery.signals.learned.LearnedModel`."""

    name = "learned"
    #: The pipeline hands this ranker the sources' proposals (the ``src_`` features).
    uses_proposals = True

    def __init__(self, model: Any, artifacts: Mapping[str, Any]) -> None:
        self.model, self.artifacts = model, artifacts
        #: Logits the j-th post of one author in a page loses (fitted with the model:
        #: :mod:`discovery.signals.fatigue`); the selections order by it.
        self.fatigue = float(model.meta.get("author_fatigue") or 0.0)

    def features(
        self,
        ctx: UserContext,
        posts: np.ndarray,
        proposals: Sequence[Candidates] | Mapping[str, np.ndarray],
    ) -> np.ndarray:
        """The model's input rows, columns in the order it was trained with."""
        from ..signals.features import hydrate

        fm = hydrate(ctx, posts, proposals, self.artifacts)
        missing = [n for n in self.model.names if n not in fm.names]
        if missing:  # a model from a newer release: refuse clearly rather than mis-score
            raise ValueError(f"learned ranker needs features this engine lacks: {missing}")
        return fm.values[:, [fm.names.index(n) for n in self.model.names]]

    def score(
        self,
        ctx: UserContext,
        posts: np.ndarray,
        *,
        discovery: bool,
        proposals: Sequence[Candidates] | Mapping[str, np.ndarray] = (),
    ) -> Scored:
        values = self.features(ctx, posts, proposals)
        scores = self.model.predict(values)
        factors = {n: values[:, j].astype(np.float64) for j, n in enumerate(self.model.names)}
        cost = float(ctx.settings.hide_cost)
        hide = self.model.predict_hide(values) if cost > 0 else None
        if hide is not None:
            factors["p_hide"] = hide
            scores = np.maximum(scores - cost * hide, HIDE_FLOOR * scores)
        factors["learned"] = scores
        return Scored(scores, factors)

    def contributions(
        self,
        ctx: UserContext,
        posts: np.ndarray,
        proposals: Sequence[Candidates] | Mapping[str, np.ndarray] = (),
    ) -> list[dict[str, float]]:
        """Per post, each feature's contribution to its score (``bias`` the expected score)."""
        raw = self.model.contributions(self.features(ctx, posts, proposals))
        names = (*self.model.names, "bias")
        return [{n: float(v) for n, v in zip(names, row, strict=True)} for row in raw]


def learned_ranker(settings: Any, artifacts: Mapping[str, Any]) -> Ranker:
    """The learned ranker when a model was trained (``discovery train ranker``), else the
    default ranker."""
    model = artifacts.get("ranker")
    return DefaultRanker() if model is None else LearnedRanker(model, artifacts)
