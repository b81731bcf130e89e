"""Explore-feed latency: p50 / p99 per request in one process, on a generated world.

    python bench/feeds.py --db demo.db [--users 300] [--kinds explore,timeline,blend]

Generates the world first when the file does not exist (``--size``). Users are drawn with the
project's seed helper; the first request of each kind (numba compile / cache load, snapshot
indexes) is timed separately as "first call". Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from pathlib import Path

import numpy as np

from discovery.engine import Engine
from discovery.seed import rng


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, default=Path("demo.db"))
    ap.add_argument("--size", default="demo")
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--kinds", default="explore,timeline,blend")
    ap.add_argument("--ppr-mode", default="auto")
    args = ap.parse_args()
    if not args.db.exists():
        from discovery.world import generate_world

        generate_world(args.db, size=args.size)
    t0 = time.perf_counter()
    engine = Engine.open(args.db)
    load_s = time.perf_counter() - t0
    engine.settings = engine.settings.replace(ppr_mode=args.ppr_mode)
    snap = engine.snapshot
    active = np.flatnonzero(np.bincount(snap.follow_src, minlength=snap.n_accounts) > 0)
    users = rng(7).choice(active, size=min(args.users, len(active)), replace=False)
    print(
        f"world: {snap.n_accounts:,} accounts, {len(snap.follow_src):,} follows, "
        f"{snap.n_posts:,} posts, {len(snap.inter_user):,} interactions; load {load_s:.2f} s"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print("\n| feed | first call | p50 | p90 | p99 | max | requests |")
    print("|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        t = time.perf_counter()
        engine.feed(int(users[0]), k=10, kind=kind)
        first = time.perf_counter() - t
        times = []
        for u in users:
            t = time.perf_counter()
            engine.feed(int(u), k=10, kind=kind)
            times.append(time.perf_counter() - t)
        ms = np.array(times) * 1000
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        print(
            f"| {kind} | {first * 1000:.0f} ms | {p50:.1f} ms | {p90:.1f} ms | {p99:.1f} ms "
            f"| {ms.max():.1f} ms | {len(ms)} |"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
