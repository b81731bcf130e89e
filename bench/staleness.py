"""What the PPR cache's staleness budget costs in feed quality, and what it saves.

For each ``ppr_stale_l1`` budget: open the service's state on a fresh copy of the database,
serve every account's feeds once (the cache fills), then stream ``--batches`` batches of the
load test's event mix (``bench/load.py``: 1 % follows between random accounts) with
``--feeds`` random feed requests after each batch, exactly as the server does it (ingest, catch
up, serve). At the end, compare the served top-20 of 300 random accounts with what a freshly
opened engine (no cache, every statistic rebuilt) ranks for them.

With ``--precomputed`` the sampled accounts' explore lists are first computed by ``discovery
batch candidates`` (k = 200), so the served explore and blend take their candidates from lists
that grow stale while the events stream in; the fresh engine serves online
(``precomputed_max_age=0``): the overlap is then what serving from precomputed lists costs.
``--warm N`` serves only N accounts before the stream (the large world has a million).

With ``--follow-shares`` each budget is run once per share of the follow edges after which the
follow-graph structures are rebuilt (the code's is ``FOLLOW_REBUILD_SHARE``, 0.1 %): the
overlap is then what a longer follow lag costs. The share is set for the run by replacing
``Lag.stale`` for the follows (a bench's knob: the code has no setting for it). ``--weights-shares``
does the same for the like-weighted graph's lag (``WEIGHTS_LAG``, 5 % of the log + 1,000 rows):
0.02 is what it was when the graph was rebuilt with every catch-up of the like pairs.

Run: ``python bench/staleness.py --db demo.db [--budgets 0.01,0.05,0.1] [--batches 400]``
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from discovery.engine import Engine
from discovery.ranking.affinity import ppr_state
from discovery.service.auth import Principal
from discovery.service.events import ingest
from discovery.service.models import EventIn
from discovery.service.state import Service
from discovery.settings import Settings
from discovery.snapshot.derived import WEIGHTS_LAG, Lag
from load import KINDS, make_events


def overlap(a: list[int], b: list[int]) -> float:
    if not a and not b:
        return 1.0
    return len(set(a) & set(b)) / max(len(a), len(b))


@contextlib.contextmanager
def lag_shares(follows: float | None, weights: float | None) -> Iterator[None]:
    """Follow-graph structures rebuilt after ``follows`` of the edges changed, the like-weighted
    graph after ``weights`` of the log (plus its slack; None: the code's)."""
    if follows is None and weights is None:
        yield
        return
    original = Lag.stale

    def stale(lag: Lag, changes: int, rows: int) -> bool:
        if lag.table == "follows" and follows is not None:
            return changes > follows * rows
        if lag == WEIGHTS_LAG and weights is not None:
            return changes > weights * rows + lag.slack
        return original(lag, changes, rows)

    Lag.stale = stale  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Lag.stale = original  # type: ignore[method-assign]


def run(
    db: Path,
    budget: float,
    batches: int,
    feeds: int,
    seed: int,
    precomputed: bool = False,
    warm: int | None = None,
) -> dict[str, Any]:
    lists_s = 0.0
    if precomputed:
        from discovery.batch import run_candidates
        from discovery.ranking.batch import FeedRequest
        from discovery.snapshot import load_snapshot
        from discovery.store import Store

        with Store.open(db) as store:
            everyone = [str(h) for h in load_snapshot(store).handle]
            sample = random.Random(seed).sample(everyone, min(300, len(everyone)))
            t = time.perf_counter()
            run_candidates(store, users=sample, request=FeedRequest("explore", 200))
            lists_s = time.perf_counter() - t
    service = Service(db, Settings(ppr_stale_l1=budget))
    engine = service.engine
    handles = [str(h) for h in engine.snapshot.handle]
    posts = [int(p) for p in engine.snapshot.post_id]
    rnd = random.Random(seed)
    users = rnd.sample(handles, min(300, len(handles)))  # the same sample as the lists'
    admin = Principal(None, admin=True)
    for h in handles if warm is None else users[:warm]:  # the cache holds them
        engine.feed(h, k=20, kind="explore")
    cache = ppr_state(engine.snapshot).cache
    misses0, t0, counter = cache.misses, time.perf_counter(), [0]
    lookups = 0
    for _ in range(batches):
        events = make_events(100, handles, posts, rnd, "s", counter)
        ingest(service, [EventIn(**e) for e in events], admin)
        service.catch_up()
        for _ in range(feeds):
            asked = users if (precomputed or warm is not None) else handles
            engine.feed(rnd.choice(asked), k=20, kind=rnd.choice(KINDS))
            lookups += 1
    elapsed = time.perf_counter() - t0
    recomputed = (cache.misses - misses0) / max(1, lookups)
    fresh = Engine.open(db, settings=engine.settings.replace(precomputed_max_age=0.0))
    out: dict[str, Any] = {
        "budget": budget,
        "precomputed": precomputed,
        "lists_s": round(lists_s, 1),
        "served_from_lists": engine.candidate_counts.get("precomputed", 0),
        "ppr_recomputed": round(recomputed, 3),
        "ms_per_batch": round(elapsed / batches * 1000, 1),
    }
    for kind in ("explore", "timeline", "blend"):
        pairs = [
            (
                [i.post_id for i in engine.feed(u, k=20, kind=kind)],
                [i.post_id for i in fresh.feed(u, k=20, kind=kind)],
            )
            for u in users
        ]
        out[f"{kind}_overlap"] = round(float(np.mean([overlap(a, b) for a, b in pairs])), 4)
        out[f"{kind}_identical"] = round(float(np.mean([a == b for a, b in pairs])), 3)
    service.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("demo.db"))
    parser.add_argument("--budgets", default="0.01,0.05,0.1")
    parser.add_argument("--batches", type=int, default=400, help="batches of 100 events")
    parser.add_argument("--feeds", type=int, default=10, help="feed requests per batch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--precomputed", action="store_true", help="serve explore from lists")
    parser.add_argument("--warm", type=int, help="serve only this many accounts first")
    parser.add_argument(
        "--follow-shares", help="e.g. 1e-4,1e-3: follow lags to compare (default: the code's)"
    )
    parser.add_argument(
        "--weights-shares",
        help="e.g. 0.02,0.1: like-weighted graph lags to compare (default: the code's)",
    )

    def shares(text: str | None) -> list[float | None]:
        return [float(x) for x in text.split(",")] if text else [None]

    args = parser.parse_args()
    rows = []
    for budget in (float(b) for b in args.budgets.split(",")):
        for share in shares(args.follow_shares):
            for weights in shares(args.weights_shares):
                with tempfile.TemporaryDirectory() as tmp:
                    db = Path(tmp) / "world.db"
                    shutil.copy(args.db, db)
                    settings = (args.batches, args.feeds, args.seed, args.precomputed, args.warm)
                    with lag_shares(share, weights):
                        row = run(db, budget, *settings)
                    rows.append({"follow_share": share, "weights_share": weights, **row})
                print(rows[-1], flush=True)
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
