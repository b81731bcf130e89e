"""``--ranker learned``: the trained LightGBM ranker (:mod:`discovery.signals.learned`).

Scores are the model's output on the features :func:`discovery.signals.features.hydrate`
builds (the same function the training lists were built with); the factors of each pick are
those features by name plus ``learned``, the score, so the impression log records what the
model saw. The model's author fatigue (fitted beside it, :mod:`discovery.signals.fatigue`)
orders its pages: an author's second post in a page counts ``fatigue`` logits less. Without a
trained model the factory hands out the default ranker: the engine never fails for want of
training.

With the ``hide_cost`` setting :math:`\\kappa > 0` and a P(hide) booster in the model, a post's
value is :math:`v = p_e - \\kappa\\, p_h`: its expected engagements less :math:`\\kappa`
engagements per expected hide. Its score is :math:`v + \\tau` for :math:`v \\ge 0` and
:math:`\\tau / (1 - v/\\tau)` below, with :math:`\\tau = 10^{-3}`: in the order of :math:`v`
everywhere and always positive, so the blend's explore multiplier (a multiplier, which would
raise a negative score) and the author fatigue (on the logit of the score) keep working, and a page
that must take posts with :math:`v < 0` (a user whose candidates are all poor matches) takes
the least bad first. (An exponential below 0, as softplus has, underflows to equal zeros for
the worst posts, whose order then falls to post ids.) ``p_engage`` and ``p_hide`` join the
factors; :meth:`LearnedRanker.contributions` explains ``p_engage`` (as log-odds).

That multiplier is the ``learned_explore_scale`` setting, 1 by default, not the default
ranker's ``explore_scale`` handicap of 0.5: these scores are values on one scale for every
source, so an out-of-network post displaces a followed account's post when it is worth more
(measured at day 0 with ``bench/hide_cost.py``: scale 1 with hide cost 5 gives 0.5 % more
expected engagements and a third more out-of-network looks than 0.5 with cost 2, at the same
expected hides; README, "Closed-loop simulation").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .candidates import Candidates
from .context import UserContext
from .rankers import DefaultRanker, Ranker, Scored

__all__ = ["HIDE_SOFTNESS", "LearnedRanker", "hide_score", "learned_ranker"]

#: τ of :func:`hide_score` (see the module docstring).
HIDE_SOFTNESS = 1e-3


def hide_score(value: np.ndarray, tau: float = HIDE_SOFTNESS) -> np.ndarray:
    """A positive score in the order of ``value`` (P(engage) less the hide cost): ``v + τ``
    for ``v ≥ 0``, ``τ / (1 - v/τ)`` below (the module docstring).

    >>> [float(f"{x:.4g}") for x in hide_score(np.array([0.2, 0.0, -0.001, -1.0, -100.0]))]
    [0.201, 0.001, 0.0005, 9.99e-07, 1e-08]
    """
    v = np.asarray(value, dtype=np.float64)
    return np.where(v >= 0, v + tau, tau / (1.0 - np.minimum(v, 0.0) / tau))


class LearnedRanker:
    """Scores posts with a :class:`~discovery.signals.learned.LearnedModel`."""

    name = "learned"
    #: The pipeline hands this ranker the sources' proposals (the ``src_`` features).
    uses_proposals = True
    #: The blend scales explore scores by this setting (:func:`~.selection.page_explore_scale`).
    explore_setting = "learned_explore_scale"

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
        if hide is not None:  # the booster's own output stays a factor: explain's TreeSHAP
            factors["p_engage"], factors["p_hide"] = scores, hide  # contributions sum to it
            scores = hide_score(scores - cost * hide)
        factors["learned"] = scores
        return Scored(scores, factors)

    def contributions(
        self,
        ctx: UserContext,
        posts: np.ndarray,
        proposals: Sequence[Candidates] | Mapping[str, np.ndarray] = (),
    ) -> list[dict[str, float]]:
        """Per post, each feature's contribution to the model's raw score (``bias`` the
        expected one): the score itself for LambdaRank, the log-odds of ``p_engage`` for the
        ``engage`` objective (LightGBM explains a binary model on that scale)."""
        raw = self.model.contributions(self.features(ctx, posts, proposals))
        names = (*self.model.names, "bias")
        return [{n: float(v) for n, v in zip(names, row, strict=True)} for row in raw]


def learned_ranker(settings: Any, artifacts: Mapping[str, Any]) -> Ranker:
    """The learned ranker when a model was trained (``discovery train ranker``), else the
    default ranker."""
    model = artifacts.get("ranker")
    return DefaultRanker() if model is None else LearnedRanker(model, artifacts)
