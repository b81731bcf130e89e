"""What a long history costs a feed: one user's blend as their impressions grow.

    python bench/history.py --db k1/simulated.db [--user 7] [--sizes 0,1000,10000,30000]

``--db`` must hold a learned ranker (a kept simulation run with ``--train-ranker``, or
``discovery train ranker``). On a scratch copy, the user is given ever more impression events
(random posts, one a minute, ending a day before the world's clock, a like on every twentieth),
and after each step their blend of 20 is timed under the default and the learned rankers
(median of ``--repeats`` calls after one warm-up, fresh engine each step; wall time, so read
the ratio between the two rankers and between steps, not the milliseconds). The learned ranker
reads the user's whole exposure for its rate and topic features (``signals/features.py``), so
its cost grows with the history; the default ranker's grows only through the seen filter.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--user", type=int, default=7, help="account index")
    ap.add_argument("--sizes", default="0,1000,10000,30000")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from discovery.engine import Engine
    from discovery.seed import rng
    from discovery.store import Store

    gen = rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        shutil.copy(args.db, path)
        added = 0
        print("impressions added | default blend ms | learned blend ms | learned / default")
        for size in sizes:
            if size > added:
                snap = Engine.open(path).snapshot
                account = int(snap.account_id[args.user])
                posts = gen.choice(snap.post_id, size - added)
                start = int(snap.now) - 86_400 - 60 * size
                rows = [(account, int(p), "impression", start + 60 * (added + i), None)
                        for i, p in enumerate(posts)]  # fmt: skip
                rows += [(account, int(p), "like", start + 60 * (added + i) + 1, None)
                         for i, p in enumerate(posts) if i % 20 == 0]  # fmt: skip
                with Store.open(path) as store, store.transaction():
                    store.add_interactions(rows)
                added = size
            engine = Engine.open(path)
            ms = {}
            for ranker in ("default", "learned"):
                engine.feed(args.user, k=20, kind="blend", ranker=ranker)
                times = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    engine.feed(args.user, k=20, kind="blend", ranker=ranker)
                    times.append(1000 * (time.perf_counter() - t))
                ms[ranker] = statistics.median(times)
            print(f"{size} | {ms['default']:.1f} | {ms['learned']:.1f} |"
                  f" {ms['learned'] / ms['default']:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
