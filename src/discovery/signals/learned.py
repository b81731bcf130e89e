"""A learned ranker: LightGBM on served lists and what followed them.

Each training list is one user's candidates at one moment (a served page from the impression
log, or the posts the engine's sources proposed at a cut of the history), with a graded label
per post from what the user did within ``horizon`` afterwards: 0 hid it, 1 nothing, 2 liked,
3 commented or saved. Two objectives read the same lists (``RankerParams.objective``):

* ``lambdarank`` — LambdaMART (Burges, "From RankNet to LambdaRank to LambdaMART", MSR-TR
  2010-82): boosted trees whose gradient is the NDCG change of swapping two posts of a list,
  with gains hide and nothing 0, like 1, comment or save 3. A hide is no worse than nothing.
* ``engage`` — P(engage) with a hide penalty: binary log-loss on ``y = [grade ≥ 2]`` with
  row weights ``w = 1 + λ·[grade = 0]`` (``λ = hide_penalty``), i.e. it minimises
  ``Σ_i w_i·(-y_i log p_i - (1 - y_i) log(1 - p_i))``. For a group of alike posts with
  ``E`` engagements, ``H`` hides and ``N`` ignores the optimum is
  ``p = E / (E + N + (1 + λ)·H)``: a post that draws hides ranks below one that draws as
  many engagements and no hides (a hide costs ``1 + λ`` ignores). Lists with no engagement
  still train it (their hides count).

With ``engage`` and lists from impressions (which know their sessions), the author fatigue
is fitted on the validation lists' out-of-sample scores and saved in the model's meta
(:mod:`.fatigue`); the learned ranker's pages spend it.

With ``engage`` and at least :data:`MIN_HIDES` hides among the training rows, a second booster
is fitted beside it on the same rows and split: P(hide), binary log-loss on ``[grade = 0]``.
The hide penalty above cannot keep hides away by itself: hides are rare (1-2 % of the demo
world's simulated impressions) and a post's P(engage) moves by a few per cent for them, so a
post that a few users hide ranks almost as one they ignore. The learned ranker subtracts
``hide_cost · P(hide)`` from P(engage) instead (:class:`discovery.ranking.learned.
LearnedRanker`, the ``hide_cost`` setting): an expected hide costs that many engagements.

Lists are split by time: the latest ``valid_share`` of them validate (early stopping on
NDCG@10 over the lists with an engaged post; ``engage`` on its own weighted loss over every
list of that time), never a random split, which would train on the
future. The model is saved as LightGBM's own text format in a versioned ``ranker`` artifact,
with its feature names in the meta; :meth:`LearnedModel.contributions` gives each feature's
share of a score (TreeSHAP, LightGBM ``pred_contrib``; Lundberg et al., "From local
explanations to global understanding with explainable AI for trees", 2020).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..store.model import KIND_CODE
from .fatigue import describe as describe_fatigue
from .fatigue import fit_fatigue

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "ARTIFACT",
    "MIN_HIDES",
    "OBJECTIVES",
    "Examples",
    "LearnedModel",
    "RankerParams",
    "describe",
    "grade_labels",
    "load_ranker",
    "save_ranker",
    "train_ranker",
]

#: The artifact name learned rankers are saved under.
ARTIFACT = "ranker"
#: Training rows hidden, at least, for the P(hide) booster to be fitted.
MIN_HIDES = 100
#: Separates the P(engage) booster's text from the P(hide) booster's in the artifact (a line
#: LightGBM's text format never has; an artifact without it holds one booster).
HIDE_MARK = "\n#discovery: hide model\n"
_GRADE = {KIND_CODE["hide"]: 0, KIND_CODE["like"]: 2, KIND_CODE["comment"]: 3}
_GRADE[KIND_CODE["save"]] = 3


@dataclass
class Examples:
    """Training lists: feature rows, graded labels, the list each row belongs to (rows of a
    list are contiguous) and when each list was served."""

    names: tuple[str, ...]
    values: np.ndarray  # float32, rows × features
    labels: np.ndarray  # int
    lists: np.ndarray  # list id per row, non-decreasing
    times: np.ndarray  # served-at per row
    #: Per row, earlier posts of its author in the session it was first shown in
    #: (:func:`~.fatigue.session_author_rank`); None where no session is known (a cut).
    author_rank: np.ndarray | None = None

    @classmethod
    def concat(cls, parts: list[Examples]) -> Examples:
        names = parts[0].names
        offset, ids = 0, []
        for p in parts:
            ids.append(p.lists + offset)
            offset += int(p.lists.max()) + 1 if len(p.lists) else 0
        ranks = [p.author_rank for p in parts if len(p)]
        return cls(
            names,
            np.vstack([p.values for p in parts]),
            np.concatenate([p.labels for p in parts]),
            np.concatenate(ids),
            np.concatenate([p.times for p in parts]),
            None
            if any(r is None for r in ranks)
            else np.concatenate([*ranks, np.zeros(0, np.int64)]),
        )

    def __len__(self) -> int:
        return len(self.labels)


def grade_labels(
    users: np.ndarray,
    posts: np.ndarray,
    times: np.ndarray,
    inter_user: np.ndarray,
    inter_post: np.ndarray,
    inter_kind: np.ndarray,
    inter_time: np.ndarray,
    horizon: int,
) -> np.ndarray:
    """Grade of each ``(user, post)`` shown at ``times``: the highest of hide 0 < nothing 1 <
    like 2 < comment or save 3 among the user's interactions with the post in
    ``(time, time + horizon]`` (a hide wins over everything: the user said no).

    >>> grade_labels(np.array([1, 1, 2]), np.array([5, 6, 5]), np.array([10, 10, 10]),
    ...              np.array([1, 1, 2]), np.array([5, 6, 5]), np.array([0, 7, 1]),
    ...              np.array([12, 11, 30]), horizon=5).tolist()
    [2, 0, 1]
    """
    out = np.ones(len(users), np.int64)
    if len(users) == 0:
        return out
    index = {(int(u), int(p)): i for i, (u, p) in enumerate(zip(users, posts, strict=True))}
    for u, p, k, t in zip(
        inter_user.tolist(),
        inter_post.tolist(),
        inter_kind.tolist(),
        inter_time.tolist(),
        strict=True,
    ):
        i = index.get((u, p))
        if i is None or k not in _GRADE or not times[i] < t <= times[i] + horizon:
            continue
        out[i] = 0 if (k == KIND_CODE["hide"] or out[i] == 0) else max(out[i], _GRADE[k])
    return out


#: The training objectives (see the module docstring).
OBJECTIVES = ("lambdarank", "engage")


@dataclass(frozen=True)
class RankerParams:
    """LightGBM settings (small trees: a few thousand lists on two cores).

    The regularisation — ``min_data_in_leaf``, ``feature_fraction``, ``bagging_fraction`` and
    ``lambda_l2`` — was chosen on Last.fm's validation quarters, never its reported year
    (``bench/results/learned_lastfm_validation.md``: NDCG@10 inside the candidate pool 0.187
    with 20 / 1 / 1 / 0, 0.199 with these; early stopping picks 40-60 trees either way)."""

    objective: str = "lambdarank"
    num_leaves: int = 15
    learning_rate: float = 0.05
    rounds: int = 150
    min_data_in_leaf: int = 100
    valid_share: float = 0.2
    early_stopping: int = 30
    seed: int = 42
    #: ``engage`` only: a hide weighs ``1 + hide_penalty`` ignored posts.
    hide_penalty: float = 4.0
    #: Share of the features each tree sees, and of the rows each round (bagging when < 1).
    feature_fraction: float = 0.5
    bagging_fraction: float = 0.7
    #: L2 penalty on leaf values: shrinks the leaves that a few lists decide.
    lambda_l2: float = 10.0
    #: ``engage`` only: training rows hidden, at least, for the P(hide) booster to be fitted.
    min_hides: int = MIN_HIDES


@dataclass
class LearnedModel:
    """A fitted booster (LightGBM text), its feature names and training report."""

    text: str
    names: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    _booster: Any = field(default=None, repr=False, compare=False)
    #: The P(hide) booster's text (None: none was fitted; see the module docstring).
    hide_text: str | None = None
    _hide_booster: Any = field(default=None, repr=False, compare=False)

    @property
    def booster(self) -> Any:
        if self._booster is None:
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=self.text)
        return self._booster

    def predict(self, values: np.ndarray) -> np.ndarray:
        if len(values) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(values, num_threads=1), dtype=np.float64)

    def predict_hide(self, values: np.ndarray) -> np.ndarray | None:
        """P(hide) of each row; None without a hide booster."""
        if self.hide_text is None:
            return None
        if len(values) == 0:
            return np.zeros(0)
        if self._hide_booster is None:
            import lightgbm as lgb

            self._hide_booster = lgb.Booster(model_str=self.hide_text)
        return np.asarray(self._hide_booster.predict(values, num_threads=1), dtype=np.float64)

    def contributions(self, values: np.ndarray) -> np.ndarray:
        """Per row, each feature's contribution and the bias last (they sum to the score)."""
        if len(values) == 0:
            return np.zeros((0, len(self.names) + 1))
        raw = self.booster.predict(values, pred_contrib=True, num_threads=1)
        return np.asarray(raw, dtype=np.float64)


def train_ranker(examples: Examples, params: RankerParams | None = None) -> LearnedModel:
    """Fit on the earlier lists, stop early on the latest ``valid_share`` of them."""
    import lightgbm as lgb

    p = params or RankerParams()
    if p.objective not in OBJECTIVES:
        raise ValueError(f"objective {p.objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if len(examples) == 0:
        raise ValueError("no training lists")
    started = time.perf_counter()
    lists, labels = examples.lists, examples.labels
    starts = np.flatnonzero(np.r_[True, lists[1:] != lists[:-1]])
    sizes = np.diff(np.r_[starts, len(lists)])
    engaged = np.maximum.reduceat(labels, starts) >= 2 if len(starts) else starts.astype(bool)
    if not engaged.any():
        raise ValueError("no training list has an engaged post")
    order = np.argsort(examples.times[starts], kind="stable")
    engage = p.objective == "engage"
    # the latest n_valid lists validate (for lambdarank only lists with an engaged post), the
    # other lists up to the first of them train. engage validates on every list: its loss
    # on engaged lists alone saw a higher base rate than training and stopped after 2 trees
    by_time = order if engage else order[engaged[order]]
    n_valid = round(len(by_time) * p.valid_share) if len(by_time) >= 5 else 0
    valid = by_time[len(by_time) - n_valid :]
    first_valid = examples.times[starts[valid]].min() if n_valid else None
    train = order[~np.isin(order, valid)]
    if first_valid is not None:
        train = train[examples.times[starts[train]] <= first_valid]
    if not engage:
        # a list with nothing engaged gives LambdaRank no gradient, and LightGBM scores its
        # NDCG as 1: kept in validation, such lists made early stopping quit after 1-3 trees
        train = train[engaged[train]]
    rows = [np.arange(starts[i], starts[i] + sizes[i]) for i in range(len(starts))]
    config = {
        "objective": "binary" if engage else "lambdarank",
        # engage stops on its validation loss: NDCG@10 peaked after 1-2 trees (the first split
        # on the default score orders the lists; later trees calibrate) and stopped it early
        "metric": "binary_logloss" if engage else "ndcg",
        "eval_at": [10],
        "num_leaves": p.num_leaves,
        "learning_rate": p.learning_rate,
        "min_data_in_leaf": p.min_data_in_leaf,
        "feature_fraction": p.feature_fraction,
        "bagging_fraction": p.bagging_fraction,
        "bagging_freq": 1 if p.bagging_fraction < 1 else 0,
        "lambda_l2": p.lambda_l2,
        # hide and nothing gain 0, like 1, comment/save 3. Gains 2^grade - 1 (a hide below a
        # post ignored) made NDCG mostly the count of ignored posts, and early stopping on it
        # stopped after 1-3 trees on the demo world and Last.fm (bench/README.md)
        "label_gain": [0.0, 0.0, 1.0, 3.0],
        "num_threads": 1,
        "deterministic": True,
        "seed": p.seed,
        "verbosity": -1,
    }

    def dataset(which: np.ndarray, reference: Any = None, hides: bool = False) -> Any:
        """The rows of lists ``which``: LambdaRank groups, P(engage)'s weighted rows, or
        (``hides``) P(hide)'s rows."""
        at = np.concatenate([rows[i] for i in which])
        y = labels[at]
        target = (y == 0) if hides else (y >= 2) if engage else y
        return lgb.Dataset(
            examples.values[at],
            target.astype(np.float64) if engage else target,
            weight=np.where(y == 0, 1.0 + p.hide_penalty, 1.0) if engage and not hides else None,
            group=None if engage else sizes[which],
            reference=reference,
            feature_name=list(examples.names),
            free_raw_data=False,
        )

    def fit_booster(hides: bool = False) -> Any:
        train_set = dataset(train, hides=hides)
        sets: list[Any] = []
        callbacks: list[Any] = []
        if n_valid:
            sets.append(dataset(valid, train_set, hides))
            callbacks.append(lgb.early_stopping(p.early_stopping, verbose=False))
        return lgb.train(config, train_set, p.rounds, valid_sets=sets, callbacks=callbacks)

    booster = fit_booster()
    best = booster.best_score.get("valid_0", {}) if n_valid else {}
    meta = {
        "objective": p.objective,
        "hide_penalty": p.hide_penalty if p.objective == "engage" else None,
        "features": list(examples.names),
        "lists": len(train) + n_valid,
        "lists_without_engagement": int((~engaged).sum()),
        "rows": len(examples),
        "valid_lists": n_valid,
        "valid_from": None if first_valid is None else int(first_valid),
        "valid_ndcg10": round(float(best["ndcg@10"]), 6) if "ndcg@10" in best else None,
        "valid_logloss": round(float(best["binary_logloss"]), 6) if engage and best else None,
        "trees": int(booster.num_trees()),
        "label_counts": {str(g): int((labels == g).sum()) for g in range(4)},
    }
    hide_booster = None
    train_rows = np.concatenate([rows[i] for i in train])
    if engage and int((labels[train_rows] == 0).sum()) >= p.min_hides:
        hide_booster = fit_booster(hides=True)
        hide_best = hide_booster.best_score.get("valid_0", {}) if n_valid else {}
        report: dict[str, Any] = {  # the P(hide) booster's
            "trees": int(hide_booster.num_trees()),
            "hides": int((labels[train_rows] == 0).sum()),
            "valid_logloss": round(float(hide_best["binary_logloss"]), 6) if hide_best else None,
        }
        meta["hide_model"] = report
    meta["seconds"] = round(time.perf_counter() - started, 3)
    if engage and n_valid and examples.author_rank is not None:
        # out of sample: the validation lists only chose the number of trees
        at = np.concatenate([rows[i] for i in valid])
        pred = np.asarray(booster.predict(examples.values[at], num_threads=1), np.float64)
        fit = fit_fatigue(pred, labels[at] >= 2, examples.author_rank[at])
        meta |= fit.as_meta()
    hide_text = None if hide_booster is None else hide_booster.model_to_string()
    return LearnedModel(
        booster.model_to_string(), tuple(examples.names), meta, 0, booster, hide_text, hide_booster
    )


def describe(meta: dict[str, Any]) -> str:
    """What a training run fitted beside the ranker, for a CLI line: the author fatigue and the
    P(hide) booster ("" when neither).

    >>> describe({"hide_model": {"trees": 145, "hides": 4230, "valid_logloss": 0.06}})
    ', P(hide) booster of 145 trees on 4,230 hides'
    """
    hide = meta.get("hide_model")
    booster = (
        f", P(hide) booster of {hide['trees']} trees on {hide['hides']:,} hides" if hide else ""
    )
    return describe_fatigue(meta) + booster


def save_ranker(store: Store, model: LearnedModel) -> int:
    """Save as the next version of the ``ranker`` artifact (the P(hide) booster's text after
    :data:`HIDE_MARK`, when there is one); returns the version."""
    text = model.text if model.hide_text is None else model.text + HIDE_MARK + model.hide_text
    return store.save_artifact(ARTIFACT, text.encode("utf-8"), model.meta)


def load_ranker(store: Store, version: int | None = None) -> LearnedModel | None:
    """The newest (or ``version``) learned ranker; None when the store has none."""
    from ..store import NotFound

    try:
        art = store.load_artifact(ARTIFACT, version)
    except NotFound:
        return None
    names = tuple(art.meta.get("features", ()))
    text, mark, hides = art.data.decode("utf-8").partition(HIDE_MARK)
    return LearnedModel(text, names, art.meta, art.version, hide_text=hides if mark else None)
