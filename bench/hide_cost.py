"""What the learned ranker's ``hide_cost`` buys and costs: day-0 paired figures (issue 13).

    python bench/hide_cost.py --db demo-drawn.db --ranker-from tune2/simulated.db
        [--variants "hide_cost=0 hide_cost=2 hide_cost=2;source_cap=1"] [--users 600] [--seed 0]

At the world's start, for ``--users`` sampled people, the learned blend of 20 is served under
each variant of the settings (``;``-separated assignments; the first is the reference: the same
model, its P(hide) booster spent at each ``hide_cost``) beside their default timeline, and
every list is scored as the simulator's paired measure scores it
(:func:`discovery.simulation.paired.expected_engagement`: expected engagements ``E``, looks
``L`` and hides ``H`` under the world's own model, attention by position, author fatigue 0.5,
no draw). Per cost it prints, summed over the same people:

* expected engagements per expected impression over the timeline's (the paired ratio of the
  simulator's report) and the change against cost 0, with a 95 % bootstrap interval over the
  people (both lists of each person resampled together);
* expected hides per 1,000 expected impressions, and its change against cost 0 (interval as
  above);
* the share of looks on posts of accounts the person does not follow;
* the same hides for the people whose default timeline is empty (they follow no one who posted
  in the window: the timeline serves them nothing, the blend only explore) and for the rest.

Between-arm comparisons in a closed-loop run cannot tell these apart: hides are rare and people
differ (two arms of 400 people put the same ranker's expected hides at 0.45 and 0.71 per
1,000). Here every cost ranks for the same people at the same moment. Nothing is written to
``--db``.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--ranker-from", required=True, help="database holding a learned ranker")
    ap.add_argument("--variants", default="hide_cost=0 hide_cost=1 hide_cost=2 hide_cost=5")
    ap.add_argument("--users", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    from discovery.errors import InputError
    from discovery.settings import Settings, parse_assignments

    try:
        variants = [
            Settings().replace(**parse_assignments(v.split(";"))) for v in args.variants.split()
        ]
    except InputError as exc:
        ap.error(str(exc))
    names = args.variants.split()

    from discovery.engine import Engine
    from discovery.evaluation.metrics import bootstrap
    from discovery.ranking import Pipeline, get_ranker
    from discovery.seed import rng
    from discovery.signals.learned import load_ranker
    from discovery.simulation.behaviour import Served
    from discovery.simulation.paired import expected_engagement
    from discovery.store import Store
    from discovery.world.truth import load_truth

    with Store.open(args.ranker_from, create=False) as other:
        model = load_ranker(other)
    if model is None or model.hide_text is None:
        raise SystemExit(f"{args.ranker_from}: no learned ranker with a P(hide) booster")
    engine = Engine.open(args.db)
    snap, truth = engine.snapshot, load_truth(engine.store)
    world = SimpleNamespace(truth=truth, max_theta=truth.theta.max(axis=1))
    acc = np.asarray(snap.account_id, np.int64) - 1
    post = np.asarray(snap.post_id, np.int64) - 1
    people = np.flatnonzero(truth.theta[acc].sum(axis=1) > 0)
    users = np.sort(rng(args.seed).choice(people, args.users, replace=False))
    shown = np.unique((acc[snap.inter_user] << 32) | post[snap.inter_post])  # the history
    art = {**engine.request_artifacts(), "ranker": model}

    # per list (timeline, then each cost) and person: E, L, H and looks out of network
    sums = np.zeros((1 + len(variants), len(users), 4))

    def score(i: int, j: int, u: int, posts: np.ndarray) -> None:
        n = len(posts)
        served = Served(np.zeros(n, np.int64), np.full(n, acc[u]), post[posts], np.arange(n),
                        np.full(n, snap.now), np.zeros(n, bool))  # fmt: skip
        e, looks, hides = expected_engagement(world, served, shown, 0.5)
        outside = ~truth.follows(np.full(n, acc[u]), acc[snap.post_author[posts]])
        sums[j, i] = e.sum(), looks.sum(), hides.sum(), looks[outside].sum()

    for i, u in enumerate(users.tolist()):
        ctx = engine.context(u)
        default = Pipeline(ctx, get_ranker("default", ctx.settings, art), art)
        score(i, 0, u, np.array([pk.post for pk in default.picks("timeline", 20)], np.int64))
        for j, settings in enumerate(variants, start=1):
            ctx = engine.context(u, settings)
            run = Pipeline(ctx, get_ranker("learned", ctx.settings, art), art)
            score(i, j, u, np.array([pk.post for pk in run.picks("blend", 20)], np.int64))

    gen = rng(args.seed + 1)

    def interval(stat) -> str:  # type: ignore[no-untyped-def]
        point, lo, hi = bootstrap(stat, len(users), gen, samples=args.samples)
        return f"{point:8.4f} ({lo:.4f} to {hi:.4f})"

    def rate(j: int, k: int):  # type: ignore[no-untyped-def]
        return lambda w: (w @ sums[j, :, k]) / (w @ sums[j, :, 1])

    print(f"{len(users)} people, day 0, model {args.ranker_from} (hide booster "
          f"{model.meta.get('hide_model')})")  # fmt: skip
    print(
        "variant | E/L over timeline | change vs first | hides per 1,000 | change vs first"
        " | out-of-network looks"
    )
    for j, name in enumerate(names, start=1):
        ratio = interval(lambda w, j=j: rate(j, 0)(w) / rate(0, 0)(w))
        change = interval(lambda w, j=j: rate(j, 0)(w) / rate(1, 0)(w) - 1)
        hides = interval(lambda w, j=j: 1000 * rate(j, 2)(w))
        fewer = interval(lambda w, j=j: 1000 * (rate(j, 2)(w) - rate(1, 2)(w)))
        outside = sums[j, :, 3].sum() / sums[j, :, 1].sum()
        print(f"{name} | {ratio} | {change} | {hides} | {fewer} | {outside:.3f}")
    empty = sums[0, :, 1] == 0
    print(f"people with an empty timeline: {int(empty.sum())} of {len(users)}")
    for j, name in enumerate(names, start=1):
        parts = []
        for label, who in (("empty timeline", empty), ("the rest", ~empty)):
            looks = sums[j, who, 1].sum()
            parts.append(f"{label}: {1000 * sums[j, who, 2].sum() / looks:.3f} hides per 1,000"
                         f" of {looks:.0f} looks")  # fmt: skip
        print(f"{name} | " + " | ".join(parts))


if __name__ == "__main__":
    main()
