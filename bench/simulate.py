"""Time ``discovery simulate`` on a generated world: wall and CPU seconds, by phase.

    python bench/simulate.py --db demo.db [--days 14] [--arms timeline,blend,oracle] [--seed 42]
        [--ranker-from tune/simulated.db]   # for arms with ranker=learned

The machine is shared, so CPU seconds (``time.process_time``) are the figure to compare; wall
seconds are printed beside them with the load average. Nothing is written to ``--db``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from discovery.simulation import SimConfig, run, scratch_copy
from discovery.simulation.summary import summarize
from discovery.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--users", type=int, default=0)
    ap.add_argument("--arms", default="timeline,blend,oracle")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--ranker-from", default=None, help="a database holding a learned ranker")
    args = ap.parse_args()
    model = None
    if args.ranker_from:
        from discovery.signals.learned import load_ranker

        with Store.open(args.ranker_from, create=False) as other:
            model = load_ranker(other)
    cfg = SimConfig(args.days, args.users, tuple(args.arms.split(",")), seed=args.seed)
    wall, cpu = time.perf_counter(), time.process_time()
    with Store.open(args.db, create=False) as src, tempfile.TemporaryDirectory() as tmp:
        store = scratch_copy(src, tmp)
        copy = (time.perf_counter() - wall, time.process_time() - cpu)
        try:
            arts = None
            if model is not None:
                from discovery.signals.loading import load_artifacts

                arts = {**load_artifacts(store), "ranker": model}
            log = run(store, cfg, artifacts=arts)
        finally:
            store.close()
        t_sum = time.process_time()
        summarize(log)
        summary_cpu = time.process_time() - t_sum
    total = (time.perf_counter() - wall, time.process_time() - cpu)
    feeds = sum(len(set(r.session.tolist())) for _, r in log.impressions)
    print(f"{args.db}: {len(log.users):,} users, {cfg.days} days, arms {args.arms}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"copy: {copy[0]:.1f} s wall, {copy[1]:.1f} s CPU")
    for phase, sec in sorted(log.cpu.items()):
        print(f"  {phase}: {sec:.1f} s CPU")
    print(f"summary (bootstrap): {summary_cpu:.1f} s CPU")
    print(
        f"total: {total[0]:.1f} s wall, {total[1]:.1f} s CPU; {feeds:,} sessions with an impression"
    )


if __name__ == "__main__":
    main()
