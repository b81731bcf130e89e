"""ALS and the learned ranker against the default ranker and ``popular``, in the offline harness.

    python bench/learned.py --db lastfm.db --holdout 365d --step 91d --window-days 3650 \\
        --users 0 --json bench/results/learned_lastfm.json
    python bench/learned.py --db demo.db --json bench/results/learned_demo.json
    python bench/learned.py --db demo.db --latency --users 200   # after discovery train als/ranker

Strategies (each fitted per fold on the training view only; nothing trained on the store is
read, so nothing from after a cut leaks in):

* ``popular``, ``blend`` (the engine with the default ranker), ``als`` (the harness's pure ALS
  ranking of the catalog) — as in ``discovery evaluate``;
* ``blend_als`` — the engine's blend with an ALS model trained on the view, so explore has the
  ``als`` source;
* ``learned`` — the same candidates ranked by a LightGBM LambdaRank model trained on the view:
  lists are each sampled user's timeline + explore candidates at ``--inner-cuts`` earlier cuts
  one step apart, labelled by what they did in the following step
  (:func:`discovery.signals.training.examples_at_cut`).

Prints the harness's Markdown table (NDCG@10, coverage ... with 95 % bootstrap intervals) and
the learned models' training reports.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from discovery.engine import Engine
from discovery.evaluation import harness
from discovery.evaluation.report import markdown
from discovery.evaluation.strategies import STRATEGIES, EngineStrategy, Training
from discovery.seed import child_rng
from discovery.settings import Settings
from discovery.signals.learned import Examples, RankerParams, train_ranker
from discovery.signals.training import als_as_of, examples_at_cut
from discovery.store import Store

REPORTS: list[dict[str, Any]] = []


class ALSBlend(EngineStrategy):
    """The engine's blend with an ALS model trained on the fold's view (``als`` source on)."""

    def __init__(self) -> None:
        super().__init__("blend_als", "blend", "default", "blend, explore with the als source")

    def fit(self, training: Training) -> None:
        super().fit(training)
        self.engine.artifacts = {"als": als_as_of(self.view)}


class Learned(EngineStrategy):
    """The blend's candidates (ALS on) ranked by a LambdaRank model trained on the view."""

    inner_cuts, users = 3, 300

    def __init__(self) -> None:
        super().__init__("learned", "blend", "learned", "blend candidates, learned ranker")

    def fit(self, training: Training) -> None:
        super().fit(training)
        view, fold = self.view, training.fold
        step = max(fold.end - fold.cut, 3600)
        active = np.unique(view.inter_user)
        gen = child_rng(training.seed, "learned-users", fold.cut)
        if self.users and len(active) > self.users:
            active = np.sort(gen.choice(active, self.users, replace=False))
        parts = [
            examples_at_cut(view, fold.cut - i * step, active, step, training.settings)
            for i in range(self.inner_cuts, 0, -1)
        ]
        examples = Examples.concat([p for p in parts if len(p)])
        model = train_ranker(examples, RankerParams())
        REPORTS.append({"cut": fold.cut, **model.meta})
        self.engine.artifacts = {"als": als_as_of(view), "ranker": model}


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


def _days(text: str) -> int:
    return int(float(text.rstrip("d")) * 86_400)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--holdout", default="7d")
    ap.add_argument("--step", default="1d")
    ap.add_argument("--window-days", type=float, default=None)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--strategies", default="popular,als,blend,blend_als,learned")
    ap.add_argument("--inner-cuts", type=int, default=3)
    ap.add_argument("--train-users", type=int, default=300)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--latency", action="store_true", help="explore latency with the models on")
    args = ap.parse_args()
    if args.latency:
        latency(args.db, args.users)
        return
    Learned.inner_cuts, Learned.users = args.inner_cuts, args.train_users
    STRATEGIES["blend_als"] = ALSBlend
    STRATEGIES["learned"] = Learned
    settings = Settings()
    if args.window_days is not None:
        settings = settings.replace(window_days=args.window_days)
    protocol = harness.Protocol(
        holdout=_days(args.holdout), step=_days(args.step), users=args.users
    )
    started = time.perf_counter()
    with Store.open(args.db, create=False) as store:
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
    print(markdown(ev, f"python bench/learned.py --db {args.db.name} ..."))
    for r in REPORTS:
        print(
            f"learned model at cut {r['cut']}: {r['lists']} lists, {r['rows']} rows, "
            f"{r['trees']} trees, validation NDCG@10 {r['valid_ndcg10']}"
        )
    print(f"{seconds:.0f} s on {platform.processor() or platform.machine()}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {**ev.to_json(), "learned_models": REPORTS, "seconds": round(seconds, 1)}
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
