"""Benchmark: generate the large synthetic world, then load its snapshot.

Reports generation time, peak memory (``resource.getrusage``), database size and snapshot load
time (cold: reads SQLite and writes the columnar cache; warm: reads the cache).

    python bench/world.py                 # the large world: 1M users (many minutes)
    python bench/world.py --users 100000  # a quicker run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux; children cover the image worker processes.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def _size_mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=None, help="people (default: the large size)")
    ap.add_argument("--db", default="/tmp/discovery-bench-world.db")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from discovery.store import Store
    from discovery.world import generate_world

    db = Path(args.db)
    for p in (db, Path(f"{db}.media"), Path(f"{db}.snapshot")):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    stamps: dict[str, float] = {}
    t0 = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<13}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        tasks: dict[str, int] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
                stamps[stage] = time.perf_counter() - t0
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        summary = generate_world(db, "large", users=args.users, seed=args.seed, progress=tick)
    gen_s = time.perf_counter() - t0
    gen_peak = _peak_mb()

    from discovery.snapshot import Snapshot

    with Store.open(db, create=False) as store:
        t = time.perf_counter()
        Snapshot.load(store)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        snap = Snapshot.load(store)
        warm = time.perf_counter() - t
        n_inter = len(snap.inter_user)
    result = {
        "users": summary["users"],
        "accounts": summary["accounts"],
        "follows": summary["follows"],
        "posts": summary["posts"],
        "interactions": summary["interactions"],
        "images": summary["images"],
        "generate_s": round(gen_s, 1),
        "stage_start_s": {k: round(v, 1) for k, v in stamps.items()},
        "peak_rss_generate_mb": round(gen_peak),
        "db_mb": round(_size_mb(db)),
        "snapshot_cache_mb": round(_size_mb(Path(f"{db}.snapshot"))),
        "snapshot_load_cold_s": round(cold, 2),
        "snapshot_load_warm_s": round(warm, 2),
        "snapshot_interactions": n_inter,
        "peak_rss_total_mb": round(_peak_mb()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
    }
    print(json.dumps(result, indent=2))
    if not args.keep:
        for p in (db, Path(f"{db}.media"), Path(f"{db}.snapshot")):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
