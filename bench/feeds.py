"""Explore-feed latency: p50 / p99 per request in one process, on a generated world.

    python bench/feeds.py --db demo.db [--users 300] [--kinds explore,timeline,blend]
    python bench/feeds.py --db demo.db --kinds explore --vectors 1280   # + embedding source
    python bench/feeds.py --db large.db --kinds explore,blend --warm    # warmed as serve is

Generates the world first when the file does not exist (``--size``). Users are drawn with the
project's seed helper; the first request of each kind (numba compile / cache load, snapshot
indexes) is timed separately as "first call". Each request's wall time and the process's CPU
time are both reported (on a shared machine wall time includes time spent descheduled), with
the 1-minute load average before and after, and the major page faults of the pass (pages of
the memory-mapped snapshot or the database read from disk). ``--passes N`` times each kind N
times over the same users (a first pass touches each user's pages; later ones find them
resident). With ``--warm`` the engine is warmed up and, as ``serve``'s workers do after their
warm-up, everything alive moves into the garbage collector's permanent generation
(``gc.freeze``). Results are printed as a Markdown table.

The engine loads the store's trained models (``discovery train als`` turns the ``als`` source
on). ``--vectors DIM`` gives the engine synthetic post vectors of that dimension (1280 is
EfficientNet-Lite0's) for every post, so the ``embedding`` source runs as it would after
``discovery embed``: each post's vector is the sum of a random direction per hashtag plus
noise, so what a user liked has a taste to find (the latency, not the relevance, is measured).
``--vectors-days N`` gives vectors only to the posts of the last N days (on the large world
every post's would not fit in memory; the issue allows the feed window's): a user whose recent
likes fall outside it has no taste to search with, so the script also prints how many of the
timed users had one.

BLAS runs on one thread, as in every ``serve`` worker
(``one_blas_thread_per_worker``: a server's parallelism is its workers); ``--blas-threads 0`` leaves the
library's own count (two here), whose spinning second thread made the large world's tail.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from discovery.embeddings import PostVectors
from discovery.engine import Engine
from discovery.seed import rng
from discovery.snapshot import Snapshot
from discovery.store.vectors import VectorBatch
from discovery.warmup import warm_up


def synthetic_vectors(
    snap: Snapshot, dim: int, seed: int = 5, days: float | None = None
) -> PostVectors:
    """A unit vector per post: the sum of its hashtags' random directions plus noise of the
    same size (a post without hashtags is noise alone). With ``days``, only the posts taken in
    the last ``days`` days get one (the feed window: what a large world can hold in memory)."""
    gen = rng(seed)
    tags = gen.standard_normal((max(snap.n_tags, 1), dim)).astype(np.float32)
    tags /= np.linalg.norm(tags, axis=1, keepdims=True)
    rows = np.arange(snap.n_posts)
    if days is not None:
        rows = np.flatnonzero(snap.post_taken >= snap.now - days * 86400)
    x = np.asarray(snap.post_tags_matrix()[rows].astype(np.float32) @ tags, dtype=np.float32)
    x += gen.standard_normal(x.shape).astype(np.float32) / np.sqrt(dim)
    held = PostVectors("synthetic-image@1", dim)
    ids = snap.post_id[rows].astype(np.int64)
    held.extend(VectorBatch(held.model, ids, x.astype(np.float16), 1))
    return held


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, default=Path("demo.db"))
    ap.add_argument("--size", default="demo")
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--kinds", default="explore,timeline,blend")
    ap.add_argument("--ppr-mode", default="auto")
    ap.add_argument("--vectors", type=int, default=0, help="synthetic post vectors of this dim")
    ap.add_argument(
        "--vectors-days", type=float, help="vectors only for the posts of the last N days"
    )
    ap.add_argument(
        "--warm", action="store_true", help="warm the engine up first, as serve does per worker"
    )
    ap.add_argument(
        "--passes", type=int, default=1, help="time each feed kind this many times over the users"
    )
    ap.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads (1, default: as a serve worker; 0: all)",
    )
    args = ap.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads, user_api="blas")
    if not args.db.exists():
        from discovery.world import generate_world

        generate_world(args.db, size=args.size)
    t0 = time.perf_counter()
    engine = Engine.open(args.db)
    load_s = time.perf_counter() - t0
    engine.settings = engine.settings.replace(ppr_mode=args.ppr_mode)
    snap = engine.snapshot
    if args.vectors:
        t = time.perf_counter()
        held = synthetic_vectors(snap, args.vectors, days=args.vectors_days)
        engine.artifacts = {**engine.artifacts, "vectors": {held.model: held}}
        print(
            f"vectors: {len(held):,} x {args.vectors} synthetic, index "
            f"{type(held.index).__name__}, built in {time.perf_counter() - t:.1f} s"
        )
    print(f"artifacts: {', '.join(sorted(engine.artifacts)) or 'none'}")
    if args.warm:
        done = warm_up(engine)
        # and, as serve's lifespan does after its warm-up, the long-lived objects out of the
        # cyclic collector's reach: a full collection over them took 65-73 ms on the large
        # world, a pause a serve worker does not have (0.1 ms once frozen)
        gc.collect()
        gc.freeze()
        print(f"warm-up: {done.seconds:.1f} s, {len(done.built)} structures, accounts {done.users}")
    active = np.flatnonzero(np.bincount(snap.follow_src, minlength=snap.n_accounts) > 0)
    users = rng(7).choice(active, size=min(args.users, len(active)), replace=False)
    print(
        f"world: {snap.n_accounts:,} accounts, {len(snap.follow_src):,} follows, "
        f"{snap.n_posts:,} posts, {len(snap.inter_user):,} interactions; load {load_s:.2f} s"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
        f", BLAS threads: {args.blas_threads or 'library default'}"
    )
    print(
        "\n| feed | pass | first call | p50 | p90 | p99 | max | CPU p50 | CPU p99 "
        "| major faults | requests | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        load = os.getloadavg()[0]
        t = time.perf_counter()
        engine.feed(int(users[0]), k=10, kind=kind)
        first = time.perf_counter() - t
        for n in range(1, args.passes + 1):
            times, cpu = [], []
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_majflt
            for u in users:
                t, c = time.perf_counter(), time.process_time()
                engine.feed(int(u), k=10, kind=kind)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_majflt - faults
            ms, cpu_ms = np.array(times) * 1000, np.array(cpu) * 1000
            p50, p90, p99 = np.percentile(ms, [50, 90, 99])
            c50, c99 = np.percentile(cpu_ms, [50, 99])
            print(
                f"| {kind} | {n} | {first * 1000:.0f} ms | {p50:.1f} ms | {p90:.1f} ms "
                f"| {p99:.1f} ms | {ms.max():.1f} ms | {c50:.1f} ms | {c99:.1f} ms | {faults} "
                f"| {len(ms)} | {load:.1f}–{os.getloadavg()[0]:.1f} |"
            )
    if args.vectors:
        from discovery.ranking.taste import EmbeddingSource

        source = EmbeddingSource(engine.artifacts["vectors"])
        found = sum(len(source.candidates(engine.context(int(u))).posts) > 0 for u in users)
        print(f"\nthe embedding source proposed posts to {found} of the {len(users)} users")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
