"""What a stale structure costs the requests: rebuilt on use (before) against beside (``serve``).

    python bench/rebuild.py --db large.db [--users users.txt] [--json out.json]

One process, a warmed engine (as a ``serve`` worker). For each group of lagging structures —
the follow graph's (``follows``: what 0.01 % of the edges changed makes stale) and the
interaction log's (``interactions``: 2 % of the log) — it

1. *on use*: drops the group, as a catch-up past the lag did before, and times the next
   served blend page (the feed and the features its impressions log, as ``serve`` does): the request that finds the structures gone builds them, holding the engine's
   lock, and every request behind it waits that long;
2. *beside*: marks the group stale, as a catch-up past the lag does in ``serve``, starts the
   rebuild thread and serves blend pages back to back until it has swapped the new structures
   in: their p50 / p99 / max latency, and the longest pause of a 1 ms ticker thread (how long
   a C call of the rebuild held the GIL that request threads need).

The machine is the bench README's; nothing else should run (one core for the feeds and the
ticker, one for the rebuild thread).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from discovery.engine import Engine
from discovery.signals.features import served_features
from discovery.warmup import warm_up

GROUPS = {
    "follows": ["follow_graph", "follower_counts"],
    "interactions": [
        "engagement_pairs",
        "post_stats",
        "author_stats",
        "engaged_columns",
        "recent_likes",
        "exposure_counts",
    ],
}


class Ticker:
    """A thread that sleeps 1 ms at a time and records how late it woke (GIL waits)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def ms(values: list[float]) -> dict[str, float]:
    a = np.array(values) * 1000
    return {
        "n": len(a),
        "p50_ms": round(float(np.percentile(a, 50)), 1),
        "p99_ms": round(float(np.percentile(a, 99)), 1),
        "max_ms": round(float(a.max()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--users", type=Path, help="handles to serve (default: 400 by activity)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    engine = Engine.open(args.db)
    start = time.perf_counter()
    warm_up(engine)
    snap = engine.snapshot
    print(f"warm-up {time.perf_counter() - start:.1f} s", flush=True)
    if args.users:
        handles = [h.strip() for h in args.users.read_text().splitlines() if h.strip()]
        users = [engine.user_index(h) for h in handles[:400]]
    else:
        counts = np.bincount(snap.inter_user, minlength=snap.n_accounts)
        users = np.argsort(-counts)[:400].tolist()
    at = iter(range(10**9))

    def feed() -> float:  # a served page: the feed and the features its impressions log
        t = time.perf_counter()
        user = users[next(at) % len(users)]
        served_features(engine, user, engine.feed(user, k=20, kind="blend").items)
        return time.perf_counter() - t

    out: dict[str, Any] = {"db": str(args.db), "baseline": ms([feed() for _ in range(200)])}
    rebuilder = engine.rebuild_beside()
    for group, keys in GROUPS.items():
        for key in keys:  # on use: what a catch-up past the lag dropped before
            snap.derived.drop(key)
        on_use = feed()
        for _ in range(50):
            feed()
        for key in keys:  # beside: what a catch-up past the lag marks now
            entry = snap.derived.entry(key)
            if entry is not None:
                entry.stale = True
        ticker = Ticker()
        started = time.perf_counter()
        with engine._lock:
            rebuilder.poke(snap)
        during = []
        while rebuilder.running:
            during.append(feed())
        seconds = time.perf_counter() - started
        ticker.stop()
        after = [feed() for _ in range(50)]
        out[group] = {
            "on_use_feed_ms": round(on_use * 1000, 1),
            "beside_seconds": round(seconds, 2),
            "beside_installed": rebuilder.last_installed,
            "feeds_during": ms(during),
            "feeds_after": ms(after),
            "ticker_max_gap_ms": round(max(ticker.gaps) * 1000, 1),
            "ticker_gaps_over_50ms": sum(g > 0.05 for g in ticker.gaps),
        }
        print(group, json.dumps(out[group]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
