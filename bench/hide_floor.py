"""How few hides can an engine that estimates interests serve out of network? (issue 13)

    python bench/hide_floor.py --db demo-drawn.db [--users 300] [--pool 60] [--seed 0]

The world hides an unclicked out-of-network post with chance ``0.08·(1 − θ_ut / max_s θ_us)^4``
(:func:`discovery.world.interactions.responses`): 0 only on the user's single top true topic,
so the timeline's hides are exactly 0 and "no more hides than the timeline" asks for explore
posts on that topic alone. An arm that knows the truth can do it (the simulator's oracle draws
none); this measures how close the engine's own estimates get.

At the world's start, for ``--users`` sampled people, the top ``--pool`` posts of their explore
feed (default ranker) are kept under ever stricter filters of the engine's interest topics
(:mod:`discovery.signals.topics`, :mod:`discovery.signals.interest`): the post's posterior
on the user's estimated top topic, ``P(k̂ | post) ≥ c`` with ``k̂ = argmax θ̂_u``, and the
user's estimate being peaked, ``max θ̂_u ≥ q``. Per filter it prints the share of pool posts kept, the people left with any,
the mean true hide chance of the kept posts per 1,000 (95 % bootstrap interval over people)
and the share of them on the user's true top topic. Nothing is written to ``--db``.
"""

from __future__ import annotations

import argparse

import numpy as np

FILTERS = ((0.0, 0.0), (0.5, 0.0), (0.9, 0.0), (0.99, 0.0), (0.9, 0.4), (0.9, 0.5), (0.9, 0.6))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--pool", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()

    from discovery.engine import Engine
    from discovery.evaluation.metrics import bootstrap
    from discovery.seed import rng
    from discovery.signals.interest import user_topics
    from discovery.signals.topics import post_topics, topic_model
    from discovery.world.interactions import responses
    from discovery.world.truth import load_truth

    engine = Engine.open(args.db)
    snap, truth = engine.snapshot, load_truth(engine.store)
    tm = topic_model(snap)
    acc = np.asarray(snap.account_id, np.int64) - 1
    post = np.asarray(snap.post_id, np.int64) - 1
    max_theta = truth.theta.max(axis=1)
    people = np.flatnonzero(truth.theta[acc].sum(axis=1) > 0)
    users = np.sort(rng(args.seed).choice(people, args.users, replace=False))
    # each topic column's true topic: the one most of the posts it names best are about
    best = post_topics(snap, np.arange(snap.n_posts), tm).argmax(axis=1)
    true = truth.post_topic[post].astype(np.int64)
    name = np.array([np.bincount(true[best == c]).argmax() for c in range(tm.n_topics)])

    # per person and filter: kept posts, their summed hide chance and how many are on-topic
    kept = np.zeros((len(users), len(FILTERS), 3))
    right_top = 0
    for i, u in enumerate(users.tolist()):
        ctx = engine.context(u)
        items = engine.feed(u, k=args.pool, kind="explore").items
        posts = snap.posts.lookup(np.array([it.post_id for it in items], np.int64))
        if len(posts) == 0:
            continue
        n = len(posts)
        pr = responses(truth, truth.post_quality, np.full(n, acc[u]), post[posts],
                       np.full(n, snap.now), max_theta)  # fmt: skip
        on_top = truth.post_topic[post[posts]] == truth.theta[acc[u]].argmax()
        theta_hat = user_topics(ctx, tm)
        sure = post_topics(snap, posts, tm)[:, theta_hat.argmax()]
        right_top += int(truth.theta[acc[u], name[theta_hat.argmax()]] == max_theta[acc[u]])
        for j, (c, q) in enumerate(FILTERS):
            keep = (sure >= c) & (theta_hat.max() >= q)
            kept[i, j] = keep.sum(), pr.hide[keep].sum(), on_top[keep].sum()

    gen = rng(args.seed + 1)
    pool = kept[:, 0, 0].sum()
    print(f"{len(users)} people, day 0, explore pools of up to {args.pool} (default ranker):"
          f" {pool:.0f} posts; the estimated top topic is the true one for"
          f" {right_top / len(users):.2f} of people")  # fmt: skip
    print("filter | pool kept | people with any | true hide chance per 1,000 | on true top topic")
    for j, (c, q) in enumerate(FILTERS):
        n, hides, top = (kept[:, j, k] for k in range(3))
        point, lo, hi = bootstrap(lambda w, n=n, h=hides: 1000 * (w @ h) / np.maximum(w @ n, 1), len(users),
                                  gen, samples=args.samples)  # fmt: skip
        print(f"P(k̂ | post) >= {c}, max θ̂_u >= {q} | {n.sum() / pool:.3f} | {int((n > 0).sum())} |"
              f" {point:.2f} ({lo:.2f} to {hi:.2f}) | {top.sum() / max(n.sum(), 1):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
