"""ALS and the learned ranker against the default ranker and ``popular``, in the offline harness.

    python bench/learned.py --db lastfm.db --holdout 365d --step 91d --window-days 3650 \\
        --users 0 --inner-cuts 8 --json bench/results/learned_lastfm_ic8.json
    python bench/learned.py --db lastfm.db --holdout 182d --step 91d --window-days 3650 \\
        --end-days-before 365 ...              # validation: the two quarters before that year
    python bench/learned.py --db demo.db --json bench/results/learned_demo.json
    python bench/learned.py --db demo.db --latency --users 200   # after discovery train als/ranker
    python bench/learned.py --db lastfm.db ... --pool-recall --set als_candidates=1000

Strategies (each fitted per fold on the training view only; nothing trained on the store is
read, so nothing from after a cut leaks in):

* ``popular``, ``blend`` (the engine with the default ranker), ``als`` (the harness's pure ALS
  ranking of the catalog, ``--als-*`` settings) — as in ``discovery evaluate``;
* ``blend_als`` — the engine's blend with an ALS model trained on the view, so explore has the
  ``als`` source;
* ``learned`` — the same candidates ranked by a LightGBM LambdaRank model trained on the view:
  lists are the timeline + explore candidates, at ``--inner-cuts`` earlier cuts one step
  apart, of every user who engaged with something in the following step (``--train-users``
  caps them), labelled by what they did in that step
  (:func:`discovery.signals.training.examples_at_cut`);
* ``learned_engage`` — the same lists, the P(engage)-with-a-hide-penalty objective.

``--pool-recall`` prints, instead, the share of each fold's positives that the candidates
the learned ranker orders hold (:func:`pool_recall`).

Prints the harness's Markdown table (NDCG@10, coverage ... with 95 % bootstrap intervals), the
learned models' training reports and the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from discovery.engine import Engine
from discovery.evaluation import harness
from discovery.evaluation.report import markdown
from discovery.evaluation.strategies import STRATEGIES, ALSStrategy, EngineStrategy, Training
from discovery.ranking import DefaultRanker, Pipeline, user_context
from discovery.seed import child_rng
from discovery.settings import Settings, parse_assignments
from discovery.signals.als import WEIGHTINGS, ALSParams
from discovery.signals.learned import Examples, RankerParams, train_ranker
from discovery.signals.training import als_as_of, engaged_users, examples_at_cut
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.store.model import KIND_CODE, POSITIVE_KINDS

REPORTS: list[dict[str, Any]] = []


#: ALS settings of every strategy here (``--als-*``); the defaults, chosen on validation.
ALS = ALSParams()
#: Training lists per ``(cut, horizon)``, shared by the folds (see :class:`Learned`).
LISTS: dict[tuple[int, int], Examples] = {}


class ALSBlend(EngineStrategy):
    """The engine's blend with an ALS model trained on the fold's view (``als`` source on)."""

    def __init__(self) -> None:
        super().__init__("blend_als", "blend", "default", "blend, explore with the als source")

    def fit(self, training: Training) -> None:
        super().fit(training)
        self.engine.artifacts = {"als": als_as_of(self.view, ALS)}


class Learned(EngineStrategy):
    """The blend's candidates (ALS on) ranked by a LightGBM model trained on the view.

    Lists: at ``inner_cuts`` earlier cuts one step apart, the candidates of every user who
    engaged with something in the following step (at most ``users`` of them, sampled; 0:
    all), graded by that step. The lists at a cut ``c`` read the view only up to ``c + step
    <= fold.cut``, which every later fold's view holds identically, so they are built once
    and shared by the folds that use that cut (``LISTS``)."""

    inner_cuts, users, params = 3, 0, RankerParams()

    def __init__(self) -> None:
        super().__init__("learned", "blend", "learned", "blend candidates, learned ranker")

    def fit(self, training: Training) -> None:
        super().fit(training)
        view, fold = self.view, training.fold
        step = max(fold.end - fold.cut, 3600)
        parts = []
        for i in range(self.inner_cuts, 0, -1):
            at = fold.cut - i * step
            if (at, step) not in LISTS:
                who = engaged_users(view, at, at + step)
                gen = child_rng(training.seed, "learned-users", at)
                if self.users and len(who) > self.users:
                    who = np.sort(gen.choice(who, self.users, replace=False))
                LISTS[at, step] = examples_at_cut(
                    view, at, who, step, training.settings, als_params=ALS
                )
            parts.append(LISTS[at, step])
        examples = Examples.concat([p for p in parts if len(p)])
        model = train_ranker(examples, self.params)
        REPORTS.append({"strategy": self.name, "cut": fold.cut, **model.meta})
        self.engine.artifacts = {"als": als_as_of(view, ALS), "ranker": model}


class LearnedEngage(Learned):
    """:class:`Learned` with the P(engage)-with-a-hide-penalty objective (same lists)."""

    params = RankerParams(objective="engage")

    def __init__(self) -> None:
        EngineStrategy.__init__(
            self, "learned_engage", "blend", "learned", "blend candidates, P(engage) ranker"
        )


def latency(db: Path, users: int, kinds: tuple[str, ...] = ("explore",)) -> None:
    """Explore with the new sources off and on, in one process: per request wall time and
    this thread's CPU time (the second barely moves when other processes load the machine)."""
    engine = Engine.open(db)
    trained = dict(engine.artifacts)
    snap = engine.snapshot
    active = np.unique(snap.inter_user)
    who = np.sort(child_rng(42, "latency").choice(active, min(users, len(active)), replace=False))
    setups = [("without als", {}, "default"), ("with als", {"als": trained.get("als")}, "default")]
    if "ranker" in trained:
        setups.append(("with als, learned ranker", trained, "learned"))
    print("| feed | setup | wall p50 | wall p99 | CPU p50 | CPU p99 |\n|---|---|---|---|---|---|")
    for kind in kinds:
        for label, arts, ranker in setups:
            if any(v is None for v in arts.values()):
                continue
            engine.artifacts = arts
            engine.feed(int(who[0]), kind=kind, ranker=ranker)  # build what is built once
            wall, cpu = [], []
            for u in who.tolist():
                w0, c0 = time.perf_counter(), time.thread_time()
                engine.feed(int(u), kind=kind, ranker=ranker)
                cpu.append(time.thread_time() - c0)
                wall.append(time.perf_counter() - w0)
            w, c = np.array(wall) * 1e3, np.array(cpu) * 1e3
            print(
                f"| {kind} | {label} | {np.percentile(w, 50):.1f} ms | {np.percentile(w, 99):.1f} ms"
                f" | {np.percentile(c, 50):.1f} ms | {np.percentile(c, 99):.1f} ms |"
            )


def pool_recall(store: Store, settings: Settings, cuts: list[int], step: int) -> None:
    """The share of the positives of ``(cut, cut + step]`` that each user's timeline + explore
    pool at ``cut`` holds (ALS trained on the data up to the cut): what caps any ranker of it.
    Users: every one who engaged in the step; positives: the posts they liked, commented or
    saved in it that existed at the cut."""
    full = load_snapshot(store)
    kinds = [KIND_CODE[k] for k in POSITIVE_KINDS]
    print("| cut | users | pool (mean posts) | als (mean posts) | recall (micro) | recall (mean) |")
    print("|---|---|---|---|---|---|")
    for cut in cuts:
        view = full.as_of(cut)
        arts = {"als": als_as_of(view, ALS)}
        m = (full.inter_time > cut) & (full.inter_time <= cut + step)
        m &= np.isin(full.inter_kind, kinds) & (full.inter_post < len(view.post_id))
        m[m] = full.post_taken[full.inter_post[m]] <= cut
        users, posts = full.inter_user[m], full.inter_post[m]
        hit = total = 0
        shares, sizes, als = [], [], []
        for u in np.unique(users).tolist():
            run = Pipeline(user_context(view, u, settings), DefaultRanker(), arts)
            pools = [run.pool("timeline"), run.pool("explore")]
            pool = np.concatenate([p.posts for p in pools])
            als.append(sum(len(c.posts) for p in pools for c in p.proposals if c.source == "als"))
            mine = np.unique(posts[users == u])
            got = int(np.isin(mine, pool).sum())
            hit, total = hit + got, total + len(mine)
            shares.append(got / len(mine))
            sizes.append(len(np.unique(pool)))
        day = time.strftime("%Y-%m-%d", time.gmtime(cut))
        print(
            f"| {day} | {len(shares)} | {np.mean(sizes):.0f} | {np.mean(als):.0f} "
            f"| {hit / total:.3f} | {np.mean(shares):.3f} |",
            flush=True,
        )


def _days(text: str) -> int:
    return int(float(text.rstrip("d")) * 86_400)


def main() -> None:
    global ALS
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--holdout", default="7d")
    ap.add_argument("--step", default="1d")
    ap.add_argument("--window-days", type=float, default=None)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--strategies", default="popular,als,blend,blend_als,learned,learned_engage")
    ap.add_argument("--inner-cuts", type=int, default=3)
    ap.add_argument("--train-users", type=int, default=0, help="per cut, 0: every engaged user")
    ap.add_argument("--rounds", type=int, default=RankerParams.rounds)
    ap.add_argument("--als-factors", type=int, default=ALS.factors)
    ap.add_argument("--als-iterations", type=int, default=ALS.iterations)
    ap.add_argument("--als-regularization", type=float, default=ALS.regularization)
    ap.add_argument("--als-alpha", type=float, default=ALS.alpha)
    ap.add_argument("--als-views", type=float, default=ALS.views)
    ap.add_argument("--als-weighting", choices=WEIGHTINGS, default=ALS.weighting)
    ap.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for every strategy, e.g. als_candidates=1000 (repeatable)",
    )  # fmt: skip
    ap.add_argument("--end-days-before", type=float, default=0, help="validation: end earlier")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--latency", action="store_true", help="explore latency with the models on")
    ap.add_argument(
        "--pool-recall", action="store_true", help="the candidate pool's recall at the folds' cuts"
    )
    args = ap.parse_args()
    if args.latency:
        latency(args.db, args.users)
        return
    ALS = ALSParams(
        args.als_factors, args.als_iterations, args.als_regularization, args.als_alpha,
        views=args.als_views, weighting=args.als_weighting,
    )  # fmt: skip
    Learned.inner_cuts, Learned.users = args.inner_cuts, args.train_users
    Learned.params = RankerParams(rounds=args.rounds)
    LearnedEngage.params = RankerParams(objective="engage", rounds=args.rounds)
    STRATEGIES["als"] = lambda: ALSStrategy(ALS)
    STRATEGIES["blend_als"] = ALSBlend
    STRATEGIES["learned"] = Learned
    STRATEGIES["learned_engage"] = LearnedEngage
    settings = Settings().replace(**parse_assignments(args.set))
    if args.window_days is not None:
        settings = settings.replace(window_days=args.window_days)
    started = time.perf_counter()
    load = [os.getloadavg()[0]]
    with Store.open(args.db, create=False) as store:
        end = None
        if args.end_days_before:  # a validation period that never touches the reported one
            end = int(load_snapshot(store).now - args.end_days_before * 86_400)
        if args.pool_recall:
            last = end if end is not None else int(load_snapshot(store).now)
            step, first = _days(args.step), last - _days(args.holdout)
            pool_recall(store, settings, list(range(first, last - step + 1, step)), step)
            return
        protocol = harness.Protocol(
            holdout=_days(args.holdout), step=_days(args.step), users=args.users, end=end
        )
        ev = harness.evaluate(
            store,
            tuple(args.strategies.split(",")),
            protocol,
            settings,
            dataset=args.db.name,
            progress=lambda name, i, n: print(
                f"  {time.perf_counter() - started:7.0f} s  fold {i + 1}/{n}  {name}", flush=True
            ),
        )
    seconds = time.perf_counter() - started
    load.append(os.getloadavg()[0])
    print(markdown(ev, f"python bench/learned.py --db {args.db.name} ..."))
    for r in REPORTS:
        print(
            f"{r['strategy']} model at cut {r['cut']}: {r['lists']} lists, {r['rows']} rows, "
            f"{r['trees']} trees, validation NDCG@10 {r['valid_ndcg10']}"
        )
    print(
        f"{seconds:.0f} s on {platform.processor() or platform.machine()}, "
        f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            **ev.to_json(),
            "als": asdict(ALS),
            "ranker": {
                "learned": asdict(Learned.params),
                "learned_engage": asdict(LearnedEngage.params),
            },
            "learned_models": REPORTS,
            "seconds": round(seconds, 1),
            "load_average": [round(x, 1) for x in load],
        }
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
