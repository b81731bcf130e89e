"""What limits the learned ranker on a generated world: day-0 paired ratios (issue 13).

    python bench/ceiling.py --db demo-drawn.db --ranker-from tune2/simulated.db[,other.db]
        [--users 300] [--train-users 900] [--seed 0]

At the world's start, for ``--users`` sampled people, each feed of 20 is scored as the
simulator's paired measure scores it (:func:`discovery.simulation.paired.expected_engagement`:
expected engagements under the world's model, attention by position, author fatigue 0.5) and
divided, summed over the people, by the same score of their default timeline. Printed:

* the default blend and the learned blend under each ``--ranker-from`` model;
* the blend's candidate pool (timeline and explore pools) and the timeline pool alone, ranked
  greedily by true utility under the fatigue (what perfect knowledge does with the same
  candidates);
* LightGBM fitted on ``--train-users`` other people's pools (the top 60 of each pool by the
  first model) to the *exact* expected engagement (no log has it: the ceiling of any model on
  the learned ranker's features), and to one and three likes drawn from P(like) on the same
  rows (what the labels cost).

Nothing is written to ``--db``. Figures of 2026-12-03 are in the README, "What limits it";
a model's fitted author fatigue (its meta) orders its learned blend as the engine does.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--ranker-from", required=True, help="databases holding learned rankers")
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--train-users", type=int, default=900)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import lightgbm as lgb

    from discovery.engine import Engine
    from discovery.ranking import Pipeline, get_ranker
    from discovery.seed import rng
    from discovery.signals.features import hydrate
    from discovery.signals.learned import LearnedModel, load_ranker
    from discovery.simulation.behaviour import Served
    from discovery.simulation.paired import expected_engagement
    from discovery.store import Store
    from discovery.world.interactions import responses
    from discovery.world.truth import load_truth, utility_logit

    models = {}
    for path in args.ranker_from.split(","):
        with Store.open(path, create=False) as other:
            models[path] = load_ranker(other)
    first = next(iter(models.values()))
    engine = Engine.open(args.db, cache=False)
    snap, truth = engine.snapshot, load_truth(engine.store)
    world = SimpleNamespace(truth=truth, max_theta=truth.theta.max(axis=1))
    acc = np.asarray(snap.account_id, np.int64) - 1
    post = np.asarray(snap.post_id, np.int64) - 1
    people = np.flatnonzero(truth.theta[acc].sum(axis=1) > 0)
    gen = rng(args.seed)
    users = np.sort(gen.choice(people, args.users, replace=False))
    train = np.sort(gen.choice(np.setdiff1d(people, users), args.train_users, replace=False))
    shown = np.unique((acc[snap.inter_user] << 32) | post[snap.inter_post])  # the history
    base = engine.request_artifacts()

    def score(u: int, posts: np.ndarray) -> tuple[float, float]:
        n = len(posts)
        served = Served(np.zeros(n, np.int64), np.full(n, acc[u]), post[posts], np.arange(n),
                        np.full(n, snap.now), np.zeros(n, bool))  # fmt: skip
        e, looks, _ = expected_engagement(world, served, shown, 0.5)
        return float(e.sum()), float(looks.sum())

    def greedy(u: int, posts: np.ndarray, k: int = 20) -> np.ndarray:
        logit = utility_logit(truth, np.full(len(posts), acc[u]), post[posts])["logit"].copy()
        authors, chosen = snap.post_author[posts], []
        for _ in range(min(k, len(posts))):
            j = int(np.argmax(logit))
            chosen.append(j)
            logit[j] = -np.inf
            logit[authors == authors[j]] -= 0.5  # the fatigue of one more post of that author
        return posts[np.array(chosen, np.int64)]

    # the ceiling fits, on other people's pools
    rows, exact, like = [], [], []
    art = {**base, "ranker": first}
    for u in train.tolist():
        ctx = engine.context(u)
        run = Pipeline(ctx, get_ranker("learned", ctx.settings, art), art)
        for kind in ("timeline", "explore"):
            pool = run.pool(kind)
            top = pool.posts[np.argsort(-pool.scores, kind="stable")[:60]]
            if len(top) == 0:
                continue
            fm = hydrate(ctx, top, list(pool.proposals), art)
            rows.append(fm.values[:, [fm.names.index(n) for n in first.names]])
            pr = responses(truth, truth.post_quality, np.full(len(top), acc[u]), post[top], None,
                           world.max_theta)  # fmt: skip
            exact.append(pr.like * (1 + pr.comment + pr.save + truth.params.share))
            like.append(pr.like)
    x, y, p = np.vstack(rows), np.concatenate(exact), np.concatenate(like)
    params = {"num_leaves": 15, "learning_rate": 0.05, "min_data_in_leaf": 100, "lambda_l2": 10.0,
              "feature_fraction": 0.5, "bagging_fraction": 0.7, "bagging_freq": 1,
              "num_threads": 2, "seed": 1, "deterministic": True, "verbosity": -1}  # fmt: skip
    fits = {}
    booster = lgb.train(
        {**params, "objective": "regression", "num_leaves": 31}, lgb.Dataset(x, y), 400
    )
    fits["fit to the exact expected engagement"] = booster
    for draws in (1, 3):
        labels = (gen.random((draws, len(p))) < p).astype(np.float64).ravel()
        data = lgb.Dataset(np.vstack([x] * draws), labels)
        fits[f"fit to {draws} like draw{'s' if draws > 1 else ''}"] = lgb.train(
            {**params, "objective": "binary"}, data, 200
        )
    for name, b in fits.items():
        models[name] = LearnedModel(b.model_to_string(), first.names, {}, 0, b)

    totals: dict[str, list[float]] = {}

    def add(name: str, u: int, posts: np.ndarray) -> None:
        e, looks = score(u, posts)
        t = totals.setdefault(name, [0.0, 0.0])
        t[0], t[1] = t[0] + e, t[1] + looks

    for u in users.tolist():
        ctx = engine.context(u)
        default = Pipeline(ctx, get_ranker("default", ctx.settings, base), base)
        add("timeline", u, np.array([pk.post for pk in default.picks("timeline", 20)], np.int64))
        add("default blend", u, np.array([pk.post for pk in default.picks("blend", 20)], np.int64))
        pool = np.union1d(default.pool("timeline").posts, default.pool("explore").posts)
        add("oracle over the blend's pool", u, greedy(u, pool))
        add("oracle over the timeline pool", u, greedy(u, default.pool("timeline").posts))
        for name, model in models.items():
            art = {**base, "ranker": model}
            run = Pipeline(ctx, get_ranker("learned", ctx.settings, art), art)
            add(
                f"learned blend: {name}",
                u,
                np.array([pk.post for pk in run.picks("blend", 20)], np.int64),
            )
    timeline = totals["timeline"][0] / totals["timeline"][1]
    print(f"{len(users)} people, day 0; ceiling fits on {len(y):,} rows of {len(train)} others")
    for name, (e, looks) in totals.items():
        print(f"{e / looks / timeline:7.3f}  {name}")


if __name__ == "__main__":
    main()
