"""What the hashtag source's memos save a server between likes: kept (synced per hashtag) against
dropped on every catch-up (before), side by side in one process.

    python bench/tagtops.py --db large.db --users users.txt [--rounds 240] [--json out.json]

One warmed engine (as a ``serve`` worker). Each round writes a batch of events to the store as
the open loop's stream does between two catch-ups of a worker (``--events`` of them, 15 % likes
on posts that the last feeds served, the rest impressions of them), catches up, and serves
``--feeds`` pages of a kind drawn as ``bench/load.py`` draws them. Rounds alternate in blocks
between the two modes — *kept*: the memos of each hashtag's and cluster's top-liked posts sync
with the count log (the code now); *dropped*: they are emptied after every catch-up, as the
exact dependency on the interaction log did — so both see the same machine and the same growing
database. Reported per mode: CPU and wall milliseconds per page (p50 / p99 / mean), and the
memos' sizes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from discovery.engine import Engine
from discovery.ranking.sources import cluster_top_memo, tag_top_memo
from discovery.seed import child_rng
from discovery.warmup import warm_up

KINDS = ("blend", "timeline", "explore", "interests")  # bench/load.py's, drawn uniformly


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--users", type=Path, required=True, help="handles, one per line")
    ap.add_argument("--rounds", type=int, default=240)
    ap.add_argument("--block", type=int, default=20, help="rounds per block of one mode")
    ap.add_argument("--events", type=int, default=100, help="events written per round")
    ap.add_argument("--feeds", type=int, default=3, help="pages served per round")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    engine = Engine.open(args.db)
    warm_up(engine)
    store = engine.store
    handles = [h.strip() for h in args.users.read_text().splitlines() if h.strip()]
    users = [engine.user_index(h) for h in handles]
    rng = child_rng(1, "bench-tagtops", int(engine.snapshot.max_interaction_id))
    served: list[int] = []
    times: dict[str, list[tuple[float, float]]] = {"kept": [], "dropped": []}
    sizes: dict[str, list[int]] = {"kept": [], "dropped": []}
    for r in range(args.rounds):
        mode = "kept" if (r // args.block) % 2 == 0 else "dropped"
        snap = engine.snapshot
        if served:
            now = int(time.time())
            rows = []
            for _ in range(args.events):
                who = int(snap.account_id[users[int(rng.integers(len(users)))]])
                post = int(snap.post_id[served[int(rng.integers(len(served)))]])
                kind = "like" if rng.random() < 0.15 else "impression"
                rows.append((who, post, kind, now, None))
            with store.transaction():
                store.add_interactions(rows, update_counts=True, states=("like",))
            engine.refresh()
        if mode == "dropped":
            tag_top_memo(engine.snapshot).clear()
            cluster_top_memo(engine.snapshot).clear()
        sizes[mode].append(len(tag_top_memo(engine.snapshot)))
        served = []
        for _ in range(args.feeds):
            user = users[int(rng.integers(len(users)))]
            kind = KINDS[int(rng.integers(len(KINDS)))]
            cpu, wall = time.process_time(), time.perf_counter()
            feed = engine.feed(user, k=20, kind=kind)
            times[mode].append((time.process_time() - cpu, time.perf_counter() - wall))
            ids = np.array([item.post_id for item in feed.items], dtype=np.int64)
            served += engine.snapshot.posts.lookup(ids).tolist()
        served = [p for p in served if p >= 0] or [0]
    out: dict[str, Any] = {"db": args.db, "rounds": args.rounds, "events": args.events}
    for mode, rows in times.items():
        cpu = np.array([c for c, _ in rows]) * 1000
        wall = np.array([w for _, w in rows]) * 1000
        out[mode] = {
            "pages": len(rows),
            "cpu_ms_mean": round(float(cpu.mean()), 2),
            "cpu_ms_p50": round(float(np.percentile(cpu, 50)), 2),
            "cpu_ms_p99": round(float(np.percentile(cpu, 99)), 2),
            "wall_ms_p50": round(float(np.percentile(wall, 50)), 2),
            "wall_ms_p99": round(float(np.percentile(wall, 99)), 2),
            "tag_memo_entries_median": statistics.median(sizes[mode]),
        }
        print(mode, json.dumps(out[mode]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
